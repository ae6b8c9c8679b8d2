// Booking a stay: room type, dates and guests, one of my coupons and some
// of my points, an estimate of the price, then POST /v1/bookings and on to
// the booking's live page.

import * as api from '../api.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { add, alertBox, busy, clearErrors, dateOf, field, formAlert, h, money, nightsBetween, points, put, showError, title } from '../ui.js';
import { couponText } from './wallet.js';
import { stayOf } from './search.js';

export const auth = true;

export async function render(root, ctx) {
  const q = { ...stayOf(ctx.query), room_type: ctx.query.room_type ?? '' };
  add(root, title(t('book.title')));
  let property;
  let coupons;
  let balance;
  try {
    [property, coupons, balance] = await Promise.all([
      api.get(`/v1/properties/${ctx.query.property}`).then((a) => a.property),
      api.get('/v1/me/coupons', { state: 'USER_COUPON_STATE_AVAILABLE', page_size: 100 }).then((a) => a.userCoupons ?? []),
      api.get('/v1/me/points'),
    ]);
  } catch (error) {
    if (ctx.live()) add(root, alertBox(error));
    return;
  }
  if (!ctx.live()) return;
  const roomTypes = property.roomTypes ?? [];
  const available = Number(balance.available ?? 0);
  // One key per attempt: a retry after a lost answer returns the same
  // booking instead of making a second one.
  let idempotencyKey = crypto.randomUUID();

  const breakdown = h('section', { class: 'breakdown', 'aria-labelledby': 'breakdown-title', 'aria-live': 'polite' });
  const form = h(
    'form',
    { id: 'book-form', novalidate: true },
    formAlert(),
    h('p', { class: 'muted' }, property.name, ` · ${property.region}`),
    h(
      'div',
      { class: 'grid' },
      field({ name: 'room_type_id', labelText: t('book.room'), value: q.room_type || roomTypes[0]?.roomTypeId, options: roomTypes.map((rt) => [rt.roomTypeId, `${rt.name} (${t('property.occupancy', { base: rt.baseOccupancy, max: rt.maxOccupancy })})`]) }),
      field({ name: 'check_in', labelText: t('search.checkIn'), type: 'date', value: q.check_in }),
      field({ name: 'check_out', labelText: t('search.checkOut'), type: 'date', value: q.check_out }),
      field({ name: 'guests', labelText: t('search.guests'), type: 'number', value: q.guests, min: '1', inputmode: 'numeric' }),
      field({
        name: 'user_coupon_id',
        labelText: t('book.coupon'),
        options: [['', t('book.noCoupon')], ...coupons.map((c) => [c.userCouponId, `${c.coupon?.name ?? ''} · ${couponText(c.coupon)}`])],
      }),
      field({ name: 'points_to_use', labelText: t('book.points'), type: 'number', value: '0', min: '0', max: String(available), step: '1', inputmode: 'numeric', hint: t('book.pointsHint', { n: points(available) }) }),
    ),
    ctx.query.admission_token ? h('input', { type: 'hidden', name: 'admission_token', value: ctx.query.admission_token }) : null,
    breakdown,
    h('button', { type: 'submit', class: 'primary', id: 'book-submit' }, t('book.submit')),
  );
  add(root, form);

  let estimateSeq = 0;
  const estimate = async () => {
    const seq = ++estimateSeq;
    const data = Object.fromEntries(new FormData(form));
    const rt = roomTypes.find((r) => r.roomTypeId === data.room_type_id);
    const nights = nightsBetween(data.check_in, data.check_out);
    if (!rt || !(nights > 0) || nights > 30) {
      put(breakdown, );
      return;
    }
    let nightsList;
    try {
      nightsList = (await api.get(`/v1/room-types/${rt.roomTypeId}/calendar`, { 'range.start': data.check_in, 'range.end': data.check_out })).nights ?? [];
    } catch {
      put(breakdown, );
      return;
    }
    if (seq !== estimateSeq || !ctx.live()) return;
    const guests = Number(data.guests) || 1;
    const nightsPrice = nightsList.reduce((sum, n) => sum + Number(n.price?.amount ?? 0), 0);
    const extra = Number(rt.extraGuestFee?.amount ?? 0) * Math.max(guests - rt.baseOccupancy, 0) * nights;
    const price = nightsPrice + extra;
    const coupon = coupons.find((c) => c.userCouponId === data.user_coupon_id)?.coupon;
    const { discount, note } = discountOf(coupon, price);
    const used = Math.min(Math.max(Number(data.points_to_use) || 0, 0), available, price - discount);
    const unavailable = nightsList.length < nights || nightsList.some((n) => n.closed || !n.available);
    const row = (key, amount, vars = {}, cls = '') =>
      h('div', { class: `row ${cls}` }, h('dt', {}, t(key, vars)), h('dd', {}, amount));
    put(breakdown, 
      h('h2', { id: 'breakdown-title' }, t('book.breakdown')),
      h(
        'dl',
        { class: 'breakdown-list' },
        row('book.nightsPrice', money({ amount: nightsPrice }), { nights }),
        extra ? row('book.extraFees', money({ amount: extra })) : null,
        row('book.discount', `− ${money({ amount: discount })}`, {}, 'discount'),
        row('book.pointsUsed', `− ${money({ amount: used })}`, {}, 'points'),
        row('book.pay', money({ amount: price - discount - used }), {}, 'total'),
      ),
      note ? h('p', { class: 'warning' }, note) : null,
      unavailable ? h('p', { class: 'warning' }, t('book.unavailable')) : null,
      h('p', { class: 'muted small' }, t('book.estimate')),
    );
  };
  form.addEventListener('input', () => estimate());
  form.addEventListener('change', () => estimate());
  estimate();

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    busy(form, async () => {
      clearErrors(form);
      try {
        const answer = await api.post('/v1/bookings', {
          roomTypeId: data.room_type_id,
          checkIn: dateOf(data.check_in),
          checkOut: dateOf(data.check_out),
          guests: Number(data.guests) || 0,
          userCouponId: data.user_coupon_id || undefined,
          pointsToUse: Number(data.points_to_use) || 0,
          idempotencyKey,
          admissionToken: data.admission_token || undefined,
        });
        navigate(`/booking/${answer.booking.bookingId}`);
      } catch (error) {
        // Refused: nothing was made, so a corrected attempt is a new one.
        if (error.status >= 400 && error.status < 500) idempotencyKey = crypto.randomUUID();
        showError(form, error);
      }
    });
  });
}

/** The discount a coupon would give a price, as the coupon service rules it. */
function discountOf(coupon, price) {
  if (!coupon) return { discount: 0 };
  const min = Number(coupon.minBookingPrice?.amount ?? 0);
  const max = coupon.maxBookingPrice ? Number(coupon.maxBookingPrice.amount) : Infinity;
  if (price < min || price > max) {
    return { discount: 0, note: t('book.couponMin', { min: money(coupon.minBookingPrice) }) };
  }
  if (coupon.discountType === 'DISCOUNT_TYPE_AMOUNT') {
    return { discount: Math.min(Number(coupon.discountAmount?.amount ?? 0), price) };
  }
  let d = Math.floor((price * (coupon.discountPercent ?? 0)) / 100);
  if (coupon.maxDiscount) d = Math.min(d, Number(coupon.maxDiscount.amount));
  return { discount: d };
}

