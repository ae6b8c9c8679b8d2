// My bookings (GET /v1/me/bookings): details, cancelling with the refund
// quoted first (GET …/cancellation-quote, then POST …:cancel, followed
// live until CANCELLED), and a review link for completed stays.

import * as api from '../api.js';
import { t } from '../i18n.js';
import { href } from '../router.js';
import { add, alertBox, busy, clearErrors, field, formAlert, h, money, notice, points, put, showError, stateBadge, title } from '../ui.js';
import { bookingDetails, FINAL, propertyOf } from './booking.js';

export const auth = true;

const CANCELLABLE = new Set(['BOOKING_STATE_PENDING', 'BOOKING_STATE_AWAITING_PAYMENT', 'BOOKING_STATE_CONFIRMED']);

export async function render(root, ctx) {
  add(root, title(t('bookings.title')));
  const list = h('ul', { class: 'booking-list' });
  const more = h('div', { class: 'pager' });
  add(root, list, more);
  await loadPage(list, more, ctx, '');
}

async function loadPage(list, more, ctx, token) {
  let answer;
  try {
    answer = await api.get('/v1/me/bookings', { page_size: 10, page_token: token });
  } catch (error) {
    if (ctx.live()) list.after(alertBox(error));
    return;
  }
  if (!ctx.live()) return;
  const bookings = answer.bookings ?? [];
  if (!bookings.length && !token) {
    list.replaceWith(notice(t('bookings.empty')));
    return;
  }
  const properties = await Promise.all(bookings.map((b) => propertyOf(b.propertyId)));
  if (!ctx.live()) return;
  bookings.forEach((b, i) => add(list, item(b, properties[i], ctx)));
  put(more, 
    answer.nextPageToken
      ? h('button', { type: 'button', class: 'secondary', onclick: () => loadPage(list, more, ctx, answer.nextPageToken) }, t('host.more'))
      : null,
  );
}

function item(booking, property, ctx) {
  const li = h('li', { class: 'card booking', dataset: { bookingId: booking.bookingId } });
  const panel = h('div', { class: 'cancel-panel' });
  let stream = null;
  const draw = (b) => {
    li.dataset.state = b.state;
    put(li, 
      h('h2', { class: 'booking-title' }, property?.name ?? b.propertyId, ' ', stateBadge(b.state)),
      bookingDetails(b, property),
      h(
        'p',
        { class: 'actions' },
        h('a', { href: href(`/booking/${b.bookingId}`) }, t('bookings.detail')),
        CANCELLABLE.has(b.state)
          ? h('button', { type: 'button', class: 'secondary cancel-button', onclick: () => quote(b) }, t('bookings.cancel'))
          : null,
        b.state === 'BOOKING_STATE_COMPLETED'
          ? h('a', { class: 'button secondary', href: href(`/review/${b.bookingId}`) }, t('bookings.review'))
          : null,
      ),
      panel,
    );
  };

  // Follows the booking until its cancellation is done.
  const follow = (b) => {
    stream?.close();
    if (FINAL.has(b.state)) return;
    stream = api.watch(`/v1/bookings/${b.bookingId}:watch`, {
      onMessage: (m) => draw(m.booking),
      onError: (error) => put(panel, alertBox(error)),
    });
    ctx.onCleanup(() => stream?.close());
  };

  const quote = async (b) => {
    put(panel, h('p', { class: 'loading', role: 'status' }, t('common.loading')));
    let q;
    try {
      q = await api.get(`/v1/bookings/${b.bookingId}/cancellation-quote`);
    } catch (error) {
      put(panel, alertBox(error));
      return;
    }
    const headingId = `quote-${b.bookingId}`;
    if (!q.cancellable) {
      put(panel, h('div', { class: 'quote', role: 'alert' }, t('bookings.notCancellable'), q.policy ? ` ${q.policy}` : ''));
      return;
    }
    const form = h(
      'form',
      { class: 'quote', novalidate: true, 'aria-labelledby': headingId },
      h('h3', { id: headingId }, t('bookings.quoteTitle')),
      h(
        'dl',
        { class: 'breakdown-list' },
        h('div', { class: 'row total' }, h('dt', {}, t('bookings.refund')), h('dd', { class: 'quote-refund' }, money(q.refundAmount ?? { amount: 0 }))),
        h('div', { class: 'row' }, h('dt', {}, ''), h('dd', { class: 'muted' }, t('bookings.refundPercent', { n: q.refundPercent ?? 0 }))),
        Number(q.pointsReturned) ? h('div', { class: 'row' }, h('dt', {}, t('bookings.pointsReturned')), h('dd', {}, points(q.pointsReturned))) : null,
        q.policy ? h('div', { class: 'row' }, h('dt', {}, t('bookings.policy')), h('dd', {}, q.policy)) : null,
      ),
      formAlert(),
      field({ name: 'reason', labelText: t('bookings.reason'), maxlength: '500' }),
      h(
        'p',
        { class: 'actions' },
        h('button', { type: 'submit', class: 'danger confirm-cancel' }, t('bookings.confirmCancel')),
        h('button', { type: 'button', class: 'secondary', onclick: () => { put(panel, ); li.querySelector('.cancel-button')?.focus(); } }, t('bookings.keep')),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(form, async () => {
        clearErrors(form);
        try {
          const answer = await api.post(`/v1/bookings/${b.bookingId}:cancel`, { reason: form.elements.reason.value });
          put(panel, );
          draw(answer.booking);
          follow(answer.booking);
        } catch (error) {
          showError(form, error);
        }
      });
    });
    put(panel, form);
    form.querySelector('h3').setAttribute('tabindex', '-1');
    form.querySelector('h3').focus();
  };

  draw(booking);
  return li;
}
