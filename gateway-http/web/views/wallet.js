// My coupons (GET /v1/me/coupons) and my points: the balance
// (GET /v1/me/points) and the ledger (GET /v1/me/points/history).

import * as api from '../api.js';
import { label, t } from '../i18n.js';
import { add, alertBox, h, money, notice, points, put, showTime, stateBadge, title } from '../ui.js';

export const auth = true;

/** What a coupon gives, in words. */
export function couponText(coupon) {
  if (!coupon) return '';
  let text;
  if (coupon.discountType === 'DISCOUNT_TYPE_AMOUNT') {
    text = t('coupon.amount', { amount: money(coupon.discountAmount) });
  } else if (coupon.maxDiscount && Number(coupon.maxDiscount.amount) > 0) {
    text = t('coupon.percentMax', { n: coupon.discountPercent, max: money(coupon.maxDiscount) });
  } else {
    text = t('coupon.percent', { n: coupon.discountPercent });
  }
  if (coupon.minBookingPrice && Number(coupon.minBookingPrice.amount) > 0) {
    text += ` · ${t('coupon.minPrice', { min: money(coupon.minBookingPrice) })}`;
  }
  return text;
}

export async function render(root, ctx) {
  add(root, title(t('wallet.title')));
  const couponsSection = h('section', { 'aria-labelledby': 'coupons-title' }, h('h2', { id: 'coupons-title' }, t('wallet.coupons')));
  const pointsSection = h('section', { 'aria-labelledby': 'points-title' }, h('h2', { id: 'points-title' }, t('wallet.points')));
  add(root, couponsSection, pointsSection);
  await Promise.all([drawCoupons(couponsSection, ctx), drawPoints(pointsSection, ctx)]);
}

async function drawCoupons(section, ctx) {
  let coupons;
  try {
    coupons = (await api.get('/v1/me/coupons', { page_size: 50 })).userCoupons ?? [];
  } catch (error) {
    add(section, alertBox(error));
    return;
  }
  if (!ctx.live()) return;
  add(section, 
    coupons.length
      ? h(
          'ul',
          { class: 'coupon-list' },
          coupons.map((c) =>
            h(
              'li',
              { class: 'card coupon', dataset: { userCouponId: c.userCouponId } },
              h('p', {}, h('strong', {}, c.coupon?.name ?? ''), ' ', stateBadge(c.state)),
              h('p', {}, couponText(c.coupon)),
              c.coupon?.validUntil ? h('p', { class: 'muted' }, t('wallet.validUntil', { time: showTime(c.coupon.validUntil) })) : null,
            ),
          ),
        )
      : notice(t('wallet.noCoupons')),
  );
}

async function drawPoints(section, ctx) {
  let balance;
  try {
    balance = await api.get('/v1/me/points');
  } catch (error) {
    add(section, alertBox(error));
    return;
  }
  if (!ctx.live()) return;
  const row = (key, value, cls = '') => h('div', { class: `row ${cls}` }, h('dt', {}, t(key)), h('dd', {}, value));
  add(section, 
    h(
      'dl',
      { class: 'breakdown-list points-summary' },
      row('wallet.balance', points(balance.balance), 'total'),
      row('wallet.available', points(balance.available), 'available'),
      row('wallet.reserved', points(balance.reserved)),
      row('wallet.expiringSoon', points(balance.expiringSoon)),
      balance.nextExpiryAt ? row('wallet.nextExpiry', showTime(balance.nextExpiryAt)) : null,
    ),
    h('h3', { id: 'history-title' }, t('wallet.history')),
  );
  const table = h(
    'table',
    { class: 'data history', 'aria-labelledby': 'history-title' },
    h(
      'thead',
      {},
      h('tr', {}, ['wallet.when', 'wallet.type', 'wallet.amount', 'wallet.after', 'wallet.description'].map((k) => h('th', { scope: 'col', class: k === 'wallet.amount' || k === 'wallet.after' ? 'num' : undefined }, t(k)))),
    ),
  );
  const body = h('tbody');
  add(table, body);
  const more = h('div', { class: 'pager' });
  add(section, h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'history-title' }, table), more);
  const load = async (token) => {
    let answer;
    try {
      answer = await api.get('/v1/me/points/history', { page_size: 20, page_token: token });
    } catch (error) {
      put(more, alertBox(error));
      return;
    }
    if (!ctx.live()) return;
    const entries = answer.entries ?? [];
    if (!entries.length && !token) add(body, h('tr', {}, h('td', { colspan: '5' }, t('wallet.noHistory'))));
    for (const e of entries) {
      const amount = Number(e.amount ?? 0);
      add(body, 
        h(
          'tr',
          {},
          h('td', {}, showTime(e.occurredAt)),
          h('td', {}, label(e.type)),
          h('td', { class: amount < 0 ? 'negative num' : 'positive num' }, `${amount > 0 ? '+' : ''}${points(amount)}`),
          h('td', { class: 'num' }, points(e.balanceAfter)),
          h('td', {}, e.description ?? ''),
        ),
      );
    }
    put(more, 
      answer.nextPageToken ? h('button', { type: 'button', class: 'secondary', onclick: () => load(answer.nextPageToken) }, t('host.more')) : null,
    );
  };
  await load('');
}
