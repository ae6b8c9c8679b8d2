// Hot deals: coupon issuance events (GET /v1/issuance-events). Events
// without a waiting room are claimed here; the others go through the
// waiting room first.

import * as api from '../api.js';
import { t } from '../i18n.js';
import { href, navigate } from '../router.js';
import { add, alertBox, errorText, h, notice, number, put, showTime, stateBadge, title } from '../ui.js';
import { couponText } from './wallet.js';

export async function render(root, ctx) {
  add(root, title(t('events.title')));
  const list = h('ul', { class: 'event-list' });
  const more = h('div', { class: 'pager' });
  add(root, list, more);
  const load = async (token) => {
    let answer;
    try {
      answer = await api.get('/v1/issuance-events', { page_size: 20, page_token: token });
    } catch (error) {
      if (ctx.live()) put(more, alertBox(error));
      return;
    }
    if (!ctx.live()) return;
    const events = answer.events ?? [];
    if (!events.length && !token) list.replaceWith(notice(t('events.empty')));
    add(list, ...events.map((e) => item(e)));
    put(more, 
      answer.nextPageToken ? h('button', { type: 'button', class: 'secondary', onclick: () => load(answer.nextPageToken) }, t('host.more')) : null,
    );
  };
  await load('');
}

function item(event) {
  const result = h('p', { class: 'claim-result', role: 'status' });
  const open = event.state === 'ISSUANCE_EVENT_STATE_OPEN';
  const claim = async (button) => {
    if (!api.signedIn()) {
      navigate('/login', { next: '/events' });
      return;
    }
    button.disabled = true;
    try {
      const answer = await api.post(`/v1/issuance-events/${event.eventId}:claim`, {});
      result.textContent = t(`claim.${answer.result}`);
      result.dataset.result = answer.result;
    } catch (error) {
      result.textContent = errorText(error);
      result.dataset.result = 'ERROR';
    } finally {
      button.disabled = false;
    }
  };
  return h(
    'li',
    { class: 'card event', dataset: { eventId: event.eventId } },
    h('h2', {}, event.coupon?.name ?? '', ' ', stateBadge(event.state)),
    h('p', {}, couponText(event.coupon)),
    h(
      'p',
      { class: 'muted' },
      event.unlimited ? t('events.unlimited') : t('events.remaining', { n: number(event.remaining), total: number(event.quantity) }),
      ' · ',
      t('events.window', { from: showTime(event.opensAt), to: showTime(event.closesAt) }),
      event.waitingRoom ? ` · ${t('events.waitingRoom')}` : '',
    ),
    h(
      'p',
      { class: 'actions' },
      event.waitingRoom
        ? h('a', { class: 'button primary queue-link', href: href(`/queue/${event.eventId}`) }, t('events.enterQueue'))
        : h(
            'button',
            {
              type: 'button',
              class: 'primary claim-button',
              disabled: !open,
              onclick: (e) => claim(e.currentTarget),
            },
            t('events.claim'),
          ),
    ),
    result,
  );
}
