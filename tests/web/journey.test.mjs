// The whole booking journey in the browser: sign up, claim a coupon, search,
// open a property, book with the coupon and points, watch the booking live,
// pay on the sandbox PG's checkout page, come back confirmed, see it in My
// bookings, cancel with the quoted refund and see it cancelled.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  DEMO, EDGE, Recorder, api, couponEvent, eventually, freshCredentials, launch, logIn, newContext, randomInt, day, addIso, won,
} from './kit.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('a guest books, pays, is confirmed, and cancels with the quoted refund', async () => {
  const rec = new Recorder();
  const admin = await logIn(rec, DEMO.admin);
  const deal = await couponEvent(rec, admin, { name: '여정 테스트 10%' });
  const context = await newContext(browser, rec);
  const page = await context.newPage();
  try {
    // Sign up through the page.
    const me = freshCredentials('journey');
    await page.goto(`${EDGE}/#/signup`);
    const signup = page.locator('#signup-form');
    await signup.locator('input[name=email]').fill(me.email);
    await signup.locator('input[name=password]').fill(me.password);
    await signup.locator('input[name=name]').fill(me.name);
    await signup.locator('button[type=submit]').click();
    await page.locator('#logout').waitFor();

    // The admin grants the new guest some points.
    const guest = await logIn(rec, me);
    await api(rec, 'POST', `/v1/users/${guest.user.userId}/points:earn`, {
      token: admin.token,
      body: { amount: 5000, reason: '웰컴 포인트', idempotencyKey: `web-${guest.user.userId}` },
    });

    // Claim the coupon on the hot-deals page.
    await page.locator('#nav a[href="#/events"]').click();
    const event = page.locator(`li.event[data-event-id="${deal.event.eventId}"]`);
    await event.locator('.claim-button:not([disabled])').click();
    await event.locator('.claim-result[data-result="CLAIM_RESULT_CLAIMED"]').waitFor();
    // A claim is stored through Kafka (the coupon service's batch writer):
    // the booking form lists the coupon once it is.
    await eventually(async () => {
      const { userCoupons } = await api(rec, 'GET', '/v1/me/coupons', { token: guest.token });
      return userCoupons?.some((c) => c.eventId === deal.event.eventId);
    }, { message: 'the claimed coupon stored' });

    // Search.
    const checkIn = day(randomInt(20, 150));
    const checkOut = addIso(checkIn, 2);
    await page.locator('#nav a[href="#/search"]').click();
    const search = page.locator('#search-form');
    await search.locator('select[name=region]').selectOption('부산');
    await search.locator('input[name=check_in]').fill(checkIn);
    await search.locator('input[name=check_out]').fill(checkOut);
    await search.locator('input[name=guests]').fill('2');
    await search.locator('select[name=sort]').selectOption('SEARCH_SORT_PRICE_ASC');
    await search.locator('button[type=submit]').click();
    await page.waitForURL(/check_in=/);
    // The results of this query (not the default one shown before it).
    const firstResult = page.locator('li.result', { has: page.locator(`a.result-link[href*="check_in=${checkIn}"]`) }).first();
    await firstResult.waitFor();
    const propertyName = (await firstResult.locator('h3').innerText()).trim();

    // The property, then a room type that is free on those nights.
    await firstResult.locator('a.result-link').click();
    await page.locator('h1.view-title', { hasText: propertyName }).waitFor();
    await page.locator('table.calendar').waitFor();
    const room = page.locator('li.room[data-bookable="true"]').first();
    await room.locator('a.book-link').click();

    // Coupon, points, the price breakdown, book.
    const book = page.locator('#book-form');
    await book.waitFor();
    const coupon = book.locator('select[name=user_coupon_id]');
    const option = coupon.locator('option', { hasText: '여정 테스트 10%' });
    await coupon.selectOption(await option.getAttribute('value'));
    await book.locator('input[name=points_to_use]').fill('3000');
    await book.locator('.breakdown-list .points dd', { hasText: won(3000) }).waitFor();
    const discountText = await book.locator('.breakdown-list .discount dd').innerText();
    assert.notEqual(discountText.replace(/[^\d]/g, ''), '0', 'the coupon gives a discount');
    await book.locator('#book-submit').click();

    // Watch it live until it awaits payment.
    await page.waitForURL(/#\/booking\//);
    const bookingId = page.url().split('#/booking/')[1].split('?')[0];
    const payLink = page.locator('#pay-link');
    await payLink.waitFor({ timeout: 30_000 });
    await page.locator('#booking-state[data-state="BOOKING_STATE_AWAITING_PAYMENT"]').waitFor();
    const { booking: awaiting } = await api(rec, 'GET', `/v1/bookings/${bookingId}`, { token: guest.token });
    assert.equal(awaiting.pointsUsed, '3000');
    assert.ok(Number(awaiting.price.discount.amount) > 0, 'discount applied');
    assert.equal(awaiting.userCouponId, await option.getAttribute('value').catch(() => awaiting.userCouponId));

    // Pay on the sandbox PG's checkout page.
    await payLink.click();
    await page.waitForURL((url) => !url.toString().startsWith(EDGE));
    await page.locator('#cardNumber').fill('4242424242424242');
    await page.locator('button[name=action][value=pay]').click();

    // Back on the page: approved, then CONFIRMED.
    await page.waitForURL((url) => url.toString().startsWith(EDGE));
    await page.locator('#booking-state[data-state="BOOKING_STATE_CONFIRMED"]').waitFor({ timeout: 30_000 });
    assert.match(page.url(), new RegExp(`#/booking/${bookingId}`));

    // My bookings: confirmed; cancel with the quote shown first.
    await page.locator('#nav a[href="#/bookings"]').click();
    const item = page.locator(`li.booking[data-booking-id="${bookingId}"]`);
    await item.and(page.locator('[data-state="BOOKING_STATE_CONFIRMED"]')).waitFor();
    await item.locator('.cancel-button').click();
    const refund = item.locator('.quote-refund');
    await refund.waitFor();
    const quoted = (await refund.innerText()).trim();
    const quote = await api(rec, 'GET', `/v1/bookings/${bookingId}/cancellation-quote`, { token: guest.token });
    assert.equal(quoted, won(quote.refundAmount.amount));
    await item.locator('input[name=reason]').fill('일정 변경');
    await item.locator('.confirm-cancel').click();
    await item.and(page.locator('[data-state="BOOKING_STATE_CANCELLED"]')).waitFor({ timeout: 30_000 });
    assert.equal((await item.locator('.refunded').innerText()).trim(), quoted);
    const { booking: cancelled } = await api(rec, 'GET', `/v1/bookings/${bookingId}`, { token: guest.token });
    assert.equal(cancelled.state, 'BOOKING_STATE_CANCELLED');
    assert.equal(cancelled.refundedAmount?.amount ?? '0', quote.refundAmount.amount ?? '0');
  } finally {
    await context.close();
    await deal.close();
  }
  rec.assertClean();
});
