// Bad input shows the API's error next to the field it names; errors with
// no field show as a form-level alert.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { EDGE, Recorder, day, findStay, freshCredentials, launch, newContext, signUp, uiLogIn } from './kit.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** The error text shown for `name` in `form`, once it shows. */
async function fieldError(form, name) {
  const input = form.locator(`[name="${name}"]`);
  await form.locator(`[name="${name}"][aria-invalid="true"]`).waitFor();
  const errorId = await input.getAttribute('data-error-id');
  const described = (await input.getAttribute('aria-describedby')) ?? '';
  assert.ok(described.split(' ').includes(errorId), 'the error describes the input');
  const error = form.locator(`#${errorId}`);
  assert.ok(await error.isVisible());
  return (await error.innerText()).trim();
}

test('form errors appear next to the fields the API names', async () => {
  const rec = new Recorder();
  const context = await newContext(browser, rec);
  try {
    const page = await context.newPage();

    // Sign-up with a short password.
    const me = freshCredentials('forms');
    await page.goto(`${EDGE}/#/signup`);
    const signup = page.locator('#signup-form');
    await signup.locator('input[name=email]').fill(me.email);
    await signup.locator('input[name=password]').fill('short');
    await signup.locator('input[name=name]').fill(me.name);
    await signup.locator('button[type=submit]').click();
    assert.notEqual(await fieldError(signup, 'password'), '');
    assert.equal(await signup.locator('input[name=email][aria-invalid]').count(), 0);

    // A bad email, then fixed: the old errors go away.
    await signup.locator('input[name=password]').fill(me.password);
    await signup.locator('input[name=email]').fill('not-an-email');
    await signup.locator('button[type=submit]').click();
    assert.notEqual(await fieldError(signup, 'email'), '');
    assert.equal(await signup.locator('input[name=password][aria-invalid]').count(), 0);

    // The language switch: English text, and <html lang> follows.
    assert.equal(await page.locator('html').getAttribute('lang'), 'ko');
    await page.locator('#lang-toggle').click();
    await page.locator('html[lang="en"]').waitFor();
    await page.locator('#signup-form button[type=submit]', { hasText: 'Create account' }).waitFor();
    await page.locator('#lang-toggle').click();
    await page.locator('html[lang="ko"]').waitFor();

    // Search with check-out before check-in.
    await page.goto(`${EDGE}/#/search`);
    const search = page.locator('#search-form');
    await search.locator('input[name=check_in]').fill(day(30));
    await search.locator('input[name=check_out]').fill(day(28));
    await search.locator('button[type=submit]').click();
    assert.notEqual(await fieldError(search, 'check_out'), '');

    // A price range upside down names max_price; check_out is fine now.
    await search.locator('input[name=check_out]').fill(day(32));
    await search.locator('input[name=min_price]').fill('500000');
    await search.locator('input[name=max_price]').fill('100000');
    await search.locator('button[type=submit]').click();
    assert.notEqual(await fieldError(search, 'max_price'), '');
    assert.equal(await search.locator('input[name=check_out][aria-invalid]').count(), 0);

    // A log-in that fails names no field: a form-level alert.
    await page.goto(`${EDGE}/#/login`);
    const login = page.locator('#login-form');
    await login.locator('input[name=email]').fill(freshCredentials('nobody').email);
    await login.locator('input[name=password]').fill('Wrong-password-1');
    await login.locator('button[type=submit]').click();
    const alert = login.locator('[role=alert]');
    await alert.waitFor();
    assert.notEqual((await alert.innerText()).trim(), '');

    // Booking more points than the guest has names points_to_use.
    const guest = await signUp(rec, 'forms-book');
    await uiLogIn(page, guest);
    const stay = await findStay(rec, { region: '서울', nights: 1, guests: 1, from: 30, to: 60 });
    const property = stay.result;
    await page.goto(`${EDGE}/#/book?property=${property.propertyId}&room_type=${property.rooms[0].roomTypeId}&check_in=${stay.checkIn}&check_out=${stay.checkOut}&guests=1`);
    const book = page.locator('#book-form');
    await book.locator('input[name=points_to_use]').fill('999999');
    await book.locator('#book-submit').click();
    assert.notEqual(await fieldError(book, 'points_to_use'), '');
  } finally {
    await context.close();
  }
  rec.assertClean();
});
