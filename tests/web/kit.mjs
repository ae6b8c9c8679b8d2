// Shared helpers of the browser tests: the edge's address, a browser, API
// calls for setting up (fresh guests, admin actions), and a record of every
// response from the edge so that each test can assert none was a 5xx.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

export const EDGE = (process.env.STAYMESH_EDGE || 'http://127.0.0.1:8080').replace(/\/$/, '');
export const ARTIFACTS = process.env.STAYMESH_WEB_ARTIFACTS || '/tmp/staymesh-web-artifacts';
mkdirSync(ARTIFACTS, { recursive: true });

export const DEMO = {
  guest: { email: 'guest@staymesh.dev', password: 'staymesh-guest-1' },
  host: { email: 'host@staymesh.dev', password: 'staymesh-host-1' },
  admin: { email: 'admin@staymesh.dev', password: 'staymesh-admin-1' },
  completedBooking: '0190c0de-0000-7000-8000-0000000b0001',
};

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

/** Every response from the edge with status >= 500, and page errors. */
export class Recorder {
  constructor() {
    this.serverErrors = [];
    this.pageErrors = [];
  }

  response(url, status, method = 'GET') {
    if (status >= 500 && url.startsWith(EDGE)) this.serverErrors.push(`${method} ${url} -> ${status}`);
  }

  /** Fails the test if the edge answered anything with 5xx or a page threw. */
  assertClean() {
    assert.deepEqual(this.serverErrors, [], 'responses with status >= 500 from the edge');
    assert.deepEqual(this.pageErrors, [], 'uncaught errors in the page');
  }
}

export async function launch() {
  return chromium.launch({ executablePath: process.env.STAYMESH_CHROMIUM || '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] });
}

/** A browser context whose every response and page error goes to `recorder`. */
export async function newContext(browser, recorder, options = {}) {
  const context = await browser.newContext({ viewport: DESKTOP, locale: 'ko-KR', timezoneId: 'Asia/Seoul', ...options });
  context.setDefaultTimeout(15_000);
  context.on('response', (r) => recorder.response(r.url(), r.status(), r.request().method()));
  context.on('page', (page) => page.on('pageerror', (e) => recorder.pageErrors.push(String(e))));
  return context;
}

/** An API call from the test itself (setting up, checking). */
export async function api(recorder, method, path, { body, token, query } = {}) {
  const url = new URL(EDGE + path);
  for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
  const response = await fetch(url, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  recorder.response(url.toString(), response.status, method);
  const text = await response.text();
  const json = text ? JSON.parse(text) : {};
  if (!response.ok) {
    const error = new Error(`${method} ${path} -> ${response.status} ${text}`);
    error.status = response.status;
    error.body = json;
    throw error;
  }
  return json;
}

export async function logIn(recorder, { email, password }) {
  const answer = await api(recorder, 'POST', '/v1/auth/login', { body: { email, password } });
  return { token: answer.tokens.accessToken, user: answer.user, email, password };
}

/** A fresh guest account with a random email. */
export function freshCredentials(tag = 'web') {
  const id = randomUUID().slice(0, 8);
  return { email: `${tag}-${id}@example.com`, password: `Sunny-busan-${id}`, name: `테스트 ${id}` };
}

export async function signUp(recorder, tag) {
  const c = freshCredentials(tag);
  const answer = await api(recorder, 'POST', '/v1/auth/signup', { body: c });
  return { ...c, token: answer.tokens.accessToken, user: answer.user };
}

/** Logs in through the page's own form and waits for the session. */
export async function uiLogIn(page, { email, password }) {
  await page.goto(`${EDGE}/#/login`);
  const form = page.locator('#login-form');
  await form.locator('input[name=email]').fill(email);
  await form.locator('input[name=password]').fill(password);
  await form.locator('button[type=submit]').click();
  await page.locator('#logout').waitFor();
}

/** "YYYY-MM-DD" `days` after today in Korea. */
export function day(days) {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Seoul' }).format(new Date());
  const d = new Date(`${today}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export const dateMsg = (iso) => {
  const [year, month, dd] = iso.split('-').map(Number);
  return { year, month, day: dd };
};

export const randomInt = (min, max) => min + Math.floor(Math.random() * (max - min + 1));

/** "₩12,345", as the page shows money in Korean. */
export const won = (amount) => new Intl.NumberFormat('ko-KR', { style: 'currency', currency: 'KRW' }).format(Number(amount));

/** Polls `fn` until it returns a truthy value. */
export async function eventually(fn, { timeout = 15_000, interval = 250, message = 'condition' } = {}) {
  const until = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${message}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A coupon and an open issuance event made by the admin; closed by `close()`. */
export async function couponEvent(recorder, admin, { waitingRoom = false, quantity = 20, name } = {}) {
  const now = Date.now();
  const { coupon } = await api(recorder, 'POST', '/v1/coupons', {
    token: admin.token,
    body: {
      name: name ?? `웹 테스트 쿠폰 ${randomUUID().slice(0, 6)}`,
      discountType: 'DISCOUNT_TYPE_PERCENT',
      discountPercent: 10,
      maxDiscount: { amount: '20000' },
      validFrom: new Date(now - 60_000).toISOString(),
      validUntil: new Date(now + 2 * 86_400_000).toISOString(),
    },
  });
  const { event } = await api(recorder, 'POST', `/v1/coupons/${coupon.couponId}/issuance-events`, {
    token: admin.token,
    body: {
      quantity,
      // The service lets an event open up to a minute in the past.
      opensAt: new Date(Date.now() - 5_000).toISOString(),
      closesAt: new Date(now + 3_600_000).toISOString(),
      waitingRoom,
    },
  });
  // Claims (and the page's claim button) need the event open.
  await eventually(async () => {
    const answer = await api(recorder, 'GET', `/v1/issuance-events/${event.eventId}`);
    return answer.event.state === 'ISSUANCE_EVENT_STATE_OPEN';
  }, { message: 'the issuance event open' });
  return {
    coupon,
    event,
    close: () => api(recorder, 'POST', `/v1/issuance-events/${event.eventId}:close`, { token: admin.token }).catch(() => {}),
  };
}

/** A PNG of `w`×`h` pixels (a colour gradient), built by hand. */
export function png(w = 64, h = 48) {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y += 1) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x += 1) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = Math.round((x / w) * 255);
      raw[o + 1] = Math.round((y / h) * 255);
      raw[o + 2] = 180;
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k += 1) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A bookable stay found through the API: region, dates, a property. */
export async function findStay(recorder, { region = '부산', nights = 2, guests = 2, from = 20, to = 150 } = {}) {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const checkIn = day(randomInt(from, to));
    const checkOut = addIso(checkIn, nights);
    const answer = await api(recorder, 'GET', '/v1/search', {
      query: { region, check_in: checkIn, check_out: checkOut, guests: String(guests), page_size: '5' },
    });
    const result = answer.results?.[0];
    if (result) return { region, checkIn, checkOut, guests, result };
  }
  throw new Error('no bookable stay found');
}

export function addIso(iso, days) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
