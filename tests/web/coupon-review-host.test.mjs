// A coupon claim; a review with an uploaded image for the demo guest's
// completed stay, visible in the property's reviews; a host changing a
// night's price, and search for that night showing it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  DEMO, EDGE, Recorder, addIso, api, couponEvent, day, eventually, launch, logIn, newContext, png, randomInt, signUp, uiLogIn, won,
} from './kit.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('a guest claims a coupon and finds it among their coupons', async () => {
  const rec = new Recorder();
  const admin = await logIn(rec, DEMO.admin);
  const deal = await couponEvent(rec, admin, { name: '클레임 테스트 쿠폰' });
  const guest = await signUp(rec, 'claim');
  const context = await newContext(browser, rec);
  try {
    const page = await context.newPage();
    await uiLogIn(page, guest);
    await page.goto(`${EDGE}/#/events`);
    const event = page.locator(`li.event[data-event-id="${deal.event.eventId}"]`);
    await event.locator('.claim-button').click();
    await event.locator('.claim-result[data-result="CLAIM_RESULT_CLAIMED"]').waitFor();
    // Again: the same coupon, not a second one.
    await event.locator('.claim-button').click();
    await event.locator('.claim-result[data-result="CLAIM_RESULT_ALREADY_CLAIMED"]').waitFor();
    // The coupon box is filled through Kafka; reload until it shows.
    await eventually(
      async () => {
        await page.goto(`${EDGE}/#/wallet?t=${Date.now()}`);
        await page.locator('.coupon-list, #coupons-title + .notice').first().waitFor();
        return (await page.locator('li.coupon', { hasText: '클레임 테스트 쿠폰' }).count()) === 1;
      },
      { message: 'the coupon in My coupons', interval: 500 },
    );
  } finally {
    await context.close();
    await deal.close();
  }
  rec.assertClean();
});

test('the demo guest reviews the completed stay with a photo', async () => {
  const rec = new Recorder();
  const guest = await logIn(rec, DEMO.guest);
  // An earlier run on this mesh may have reviewed the stay: start over.
  const mine = await api(rec, 'GET', '/v1/me/reviews', { token: guest.token, query: { page_size: '100' } });
  for (const r of mine.reviews ?? []) {
    if (r.bookingId === DEMO.completedBooking) await api(rec, 'DELETE', `/v1/reviews/${r.reviewId}`, { token: guest.token });
  }
  const context = await newContext(browser, rec);
  try {
    const page = await context.newPage();
    await uiLogIn(page, DEMO.guest);
    await page.locator('#nav a[href="#/bookings"]').click();
    const item = page.locator(`li.booking[data-booking-id="${DEMO.completedBooking}"]`);
    await page.locator('li.booking').first().waitFor();
    // Other suites may have booked as the demo guest: page on until it shows.
    for (let i = 0; i < 10 && (await item.count()) === 0; i += 1) {
      const more = page.locator('.pager button');
      if ((await more.count()) === 0) break;
      const before = await page.locator('li.booking').count();
      await more.click();
      await eventually(async () => (await page.locator('li.booking').count()) > before);
    }
    await item.locator('a[href^="#/review/"]').click();

    const form = page.locator('#review-form');
    await form.locator('select[name=rating]').selectOption('4');
    const text = `바다가 보이는 방, 친절한 호스트. ${Date.now()}`;
    await form.locator('textarea[name=text]').fill(text);
    await form.locator('input[name=image_upload_ids]').setInputFiles({ name: 'view.png', mimeType: 'image/png', buffer: png(96, 64) });
    await form.locator('button[type=submit]').click();
    await page.locator('#see-reviews').click();

    const review = page.locator('li.review', { hasText: text });
    await review.waitFor();
    const img = review.locator('.review-images img').first();
    await img.waitFor();
    await eventually(() => img.evaluate((el) => el.complete && el.naturalWidth === 96), { message: 'the review photo loaded' });
    await page.locator('.rating-summary').waitFor();
  } finally {
    await context.close();
  }
  rec.assertClean();
});

test('a host changes a night price and search shows it', async () => {
  const rec = new Recorder();
  const context = await newContext(browser, rec);
  try {
    const page = await context.newPage();
    await uiLogIn(page, DEMO.host);
    await page.locator('#nav a[href="#/host"]').click();
    const first = page.locator('li.host-property').first();
    await first.waitFor();
    const propertyId = await first.getAttribute('data-property-id');
    await first.locator('.manage-link').click();

    // The property (its region; its first room type, which the form edits),
    // and a night of that room type with none sold or held: the seed sells
    // out 3% of nights, and a new price shows in search only where rooms are left.
    const { property } = await api(rec, 'GET', `/v1/properties/${propertyId}`);
    const roomTypeId = property.roomTypes[0].roomTypeId;
    let night;
    for (let tries = 0; !night && tries < 20; tries++) {
      const candidate = day(randomInt(200, 330));
      const { nights = [] } = await api(rec, 'GET', `/v1/room-types/${roomTypeId}/calendar`, {
        query: { 'range.start': candidate, 'range.end': addIso(candidate, 1) },
      });
      if (nights.length === 1 && (nights[0].sold ?? 0) === 0 && (nights[0].held ?? 0) === 0) night = candidate;
    }
    assert.ok(night, 'a night of the first room type with none sold or held');

    const form = page.locator('#calendar-edit-form');
    await form.waitFor();
    const price = randomInt(1000, 1999);
    await form.locator('input[name=start]').fill(night);
    await form.locator('input[name=end]').fill(addIso(night, 1));
    await form.locator('input[name=price]').fill(String(price));
    await form.locator('button[type=submit]').click();
    await form.locator('.notice:not([hidden])').waitFor();
    assert.match(await form.locator('.notice').innerText(), /1/);

    // Search the property's region that night, cheapest first.
    const query = new URLSearchParams({ region: property.region, check_in: night, check_out: addIso(night, 1), guests: '1', sort: 'SEARCH_SORT_PRICE_ASC' });
    await eventually(
      async () => {
        await page.goto(`${EDGE}/#/search?${query}&t=${Date.now()}`);
        await page.locator('.result-list, .results .notice').first().waitFor();
        const card = page.locator(`li.result[data-property-id="${propertyId}"] .amount`);
        return (await card.count()) === 1 && (await card.innerText()).trim() === won(price);
      },
      { message: 'search showing the new price', interval: 500 },
    );
    await page.screenshot({ path: `${process.env.STAYMESH_WEB_ARTIFACTS || '/tmp/staymesh-web-artifacts'}/host-price-in-search.png` });
  } finally {
    await context.close();
  }
  rec.assertClean();
});
