// /payment-return: where the payment gateway sends the browser back, with
// paymentKey and orderId (and code and message when the payment failed).
// Approves the payment (POST /v1/payments:approve; the payment service
// checks it with the gateway) and then follows the booking until CONFIRMED.

import * as api from '../api.js';
import { t } from '../i18n.js';
import { add, alertBox, errorText, h, notice, title } from '../ui.js';
import { CHECKOUT_KEY } from './booking.js';

function toBooking(bookingId, paid) {
  try {
    sessionStorage.removeItem(CHECKOUT_KEY);
  } catch {
    // Nothing kept.
  }
  // Leave /payment-return so a reload does not approve again (it would be
  // harmless: approval is idempotent).
  history.replaceState(null, '', `/#/booking/${bookingId}${paid ? '?paid=1' : ''}`);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export async function render(root, { query }) {
  add(root, title(t('payment.title')));
  let pending = null;
  try {
    pending = sessionStorage.getItem(CHECKOUT_KEY);
  } catch {
    // Unknown booking.
  }
  const { paymentKey, orderId, code, message } = query;
  if (code || !paymentKey || !orderId) {
    add(root, h('div', { class: 'alert', role: 'alert' }, t('payment.failed', { message: message || code || t('error.generic') })));
    if (pending) add(root, h('p', {}, h('a', { href: `/#/booking/${pending}` }, t('booking.title'))));
    return;
  }
  const status = notice(t('payment.approving'));
  add(root, status);
  try {
    const { payment } = await api.post('/v1/payments:approve', { paymentKey, orderId });
    toBooking(payment.bookingId, true);
  } catch (error) {
    status.remove();
    add(root, alertBox(t('payment.failed', { message: errorText(error) })));
    if (pending) add(root, h('p', {}, h('a', { href: `/#/booking/${pending}` }, t('booking.title'))));
  }
}
