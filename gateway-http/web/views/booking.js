// One booking, followed live over GET /v1/bookings/{id}:watch: PENDING,
// AWAITING_PAYMENT (with the link to the payment gateway's checkout page),
// then CONFIRMED or CANCELLED.

import * as api from '../api.js';
import { label, t } from '../i18n.js';
import { href } from '../router.js';
import { add, alertBox, h, isoDate, money, notice, put, showDate, showTime, stateBadge, title } from '../ui.js';

export const auth = true;

/** Where the return from the checkout page finds the booking it paid for. */
export const CHECKOUT_KEY = 'staymesh.checkoutBooking';

const FINAL = new Set(['BOOKING_STATE_CONFIRMED', 'BOOKING_STATE_CANCELLED', 'BOOKING_STATE_COMPLETED']);

const properties = new Map();
/** A property, fetched once per page load (names for bookings). */
export function propertyOf(id) {
  if (!properties.has(id)) {
    properties.set(
      id,
      api.get(`/v1/properties/${id}`).then(
        (a) => a.property,
        () => null,
      ),
    );
  }
  return properties.get(id);
}

export async function render(root, ctx) {
  const id = ctx.params.id;
  add(root, title(t('booking.title')));
  const banner = h('div', { class: 'banner-slot' });
  const body = h('div', { class: 'booking-body' });
  add(root, banner, body);
  if (ctx.query.paid) add(banner, notice(t('payment.approved')));

  let booking;
  try {
    booking = (await api.get(`/v1/bookings/${id}`)).booking;
  } catch (error) {
    if (ctx.live()) add(body, alertBox(error));
    return;
  }
  if (!ctx.live()) return;
  const property = await propertyOf(booking.propertyId);
  if (!ctx.live()) return;

  const seen = [];
  const steps = h('ol', { class: 'steps', 'aria-label': t('booking.progress') });
  const status = h('div', { class: 'status', id: 'booking-status', 'aria-live': 'polite' });
  const details = h('div', { class: 'details' });
  add(body, h('section', { 'aria-label': t('booking.live') }, status, steps), details);

  const show = (b) => {
    if (seen.at(-1) !== b.state) {
      seen.push(b.state);
      add(steps, h('li', {}, stateBadge(b.state), ' ', h('span', { class: 'muted' }, showTime(b.updatedAt))));
    }
    put(status, 
      h('p', { class: 'state-line' }, stateBadge(b.state, { id: 'booking-state' })),
      b.state === 'BOOKING_STATE_AWAITING_PAYMENT' && b.checkoutUrl
        ? h(
            'p',
            {},
            h(
              'a',
              {
                class: 'button primary',
                id: 'pay-link',
                href: b.checkoutUrl,
                onclick: () => {
                  try {
                    sessionStorage.setItem(CHECKOUT_KEY, b.bookingId);
                  } catch {
                    // The return page then shows the payment only.
                  }
                },
              },
              t('booking.pay'),
            ),
            ' ',
            b.paymentDueAt ? h('span', { class: 'muted' }, t('booking.payBy', { time: showTime(b.paymentDueAt) })) : null,
          )
        : null,
      b.state === 'BOOKING_STATE_CONFIRMED' ? notice(t('booking.confirmed')) : null,
      b.state === 'BOOKING_STATE_CANCELLED'
        ? h('p', { class: 'warning' }, t('booking.cancelled'), b.cancelCause ? ` ${t('booking.cancelCause')}: ${label(b.cancelCause)}` : '', b.cancelReason ? ` (${b.cancelReason})` : '')
        : null,
    );
    if (FINAL.has(b.state)) put(banner, );
    put(details, bookingDetails(b, property));
  };
  show(booking);

  if (!FINAL.has(booking.state)) {
    const stream = api.watch(`/v1/bookings/${id}:watch`, {
      onMessage: (m) => show(m.booking),
      onError: (error) => add(status, alertBox(error)),
    });
    ctx.onCleanup(stream.close);
  }
}

/** A booking's stay and money, as a description list. */
export function bookingDetails(b, property) {
  const room = property?.roomTypes?.find((r) => r.roomTypeId === b.roomTypeId);
  const row = (term, value, cls) => (value ? h('div', { class: `row ${cls ?? ''}` }, h('dt', {}, term), h('dd', {}, value)) : null);
  const p = b.price ?? {};
  return h(
    'dl',
    { class: 'breakdown-list' },
    row(t('booking.stay'), [property ? h('a', { href: href(`/property/${b.propertyId}`) }, property.name) : b.propertyId, room ? ` · ${room.name}` : '']),
    row(t('booking.when'), t('booking.dates', { in: showDate(isoDate(b.checkIn)), out: showDate(isoDate(b.checkOut)), nights: b.nights, guests: b.guests })),
    row(t('booking.price'), money(p.price)),
    Number(p.discount?.amount) ? row(t('book.discount'), `− ${money(p.discount)}`) : null,
    Number(p.points?.amount) ? row(t('book.pointsUsed'), `− ${money(p.points)}`) : null,
    row(t('booking.paid'), money(p.paidAmount), 'total'),
    Number(b.refundedAmount?.amount) || b.state === 'BOOKING_STATE_CANCELLED'
      ? row(t('booking.refunded'), h('span', { class: 'refunded' }, money(b.refundedAmount ?? { amount: 0 })), 'refund')
      : null,
  );
}

export { FINAL };
