// The main pages of the web app, set up with real data, for the screenshot
// and accessibility tests: each page has who views it and what shows when
// it is ready.

import {
  DEMO, EDGE, api, couponEvent, eventually, findStay, logIn, newContext, signUp, uiLogIn,
} from './kit.mjs';

/**
 * Makes what the pages need (a stay to look at, a waiting room with someone
 * ahead in line) and returns the pages and a cleanup.
 */
export async function setUpPages(rec) {
  const stay = await findStay(rec, { region: '부산', nights: 2, guests: 2 });
  const propertyId = stay.result.propertyId;
  const roomTypeId = stay.result.rooms[0].roomTypeId;
  const q = `check_in=${stay.checkIn}&check_out=${stay.checkOut}&guests=${stay.guests}`;

  // A waiting room whose one admission is held by someone else, so that a
  // visitor waits in line.
  const admin = await logIn(rec, DEMO.admin);
  const sale = await couponEvent(rec, admin, { waitingRoom: true, quantity: 5, name: '스크린샷 대기실 쿠폰' });
  const eventId = sale.event.eventId;
  await api(rec, 'PUT', `/v1/queues/${eventId}`, {
    token: admin.token,
    body: { config: { active: true, admitPerSecond: 1, admissionTtlSeconds: 600, maxAdmitted: 1 } },
  });
  const head = await signUp(rec, 'pages-head');
  const { ticket } = await api(rec, 'POST', `/v1/queues/${eventId}:enter`, { token: head.token });
  await eventually(async () => {
    const answer = await api(rec, 'GET', `/v1/queues/${eventId}/tickets/${ticket.ticketId}`, { token: head.token });
    return answer.ticket.state === 'TICKET_STATE_ADMITTED';
  }, { message: 'the head of the line admitted' });

  const pages = [
    { name: 'search-results', as: 'guest', path: `/#/search?region=${encodeURIComponent('부산')}&${q}`, ready: '.result-list' },
    { name: 'property', as: 'guest', path: `/#/property/${propertyId}?${q}`, ready: 'table.calendar' },
    { name: 'booking', as: 'guest', path: `/#/book?property=${propertyId}&room_type=${roomTypeId}&${q}`, ready: '.breakdown-list' },
    { name: 'booking-detail', as: 'guest', path: `/#/booking/${DEMO.completedBooking}`, ready: '#booking-state' },
    { name: 'my-bookings', as: 'guest', path: '/#/bookings', ready: 'li.booking' },
    { name: 'wallet', as: 'guest', path: '/#/wallet', ready: 'table.history tbody tr' },
    { name: 'hot-deals', as: 'guest', path: '/#/events', ready: 'li.event' },
    { name: 'waiting-room', as: 'guest', path: `/#/queue/${eventId}`, ready: '#queue-position' },
    { name: 'review', as: 'guest', path: `/#/review/${DEMO.completedBooking}`, ready: '#review-form' },
    { name: 'host', as: 'host', path: `/#/host?property=${propertyId}`, ready: '#calendar-edit-form' },
    { name: 'login', as: 'anon', path: '/#/login', ready: '#login-form' },
    { name: 'signup', as: 'anon', path: '/#/signup', ready: '#signup-form' },
  ];
  const cleanup = async () => {
    await api(rec, 'PUT', `/v1/queues/${eventId}`, {
      token: admin.token,
      body: { config: { active: false, admitPerSecond: 1, admissionTtlSeconds: 600, maxAdmitted: 1 } },
    }).catch(() => {});
    await sale.close();
  };
  return { pages, cleanup };
}

/** Signed-in pages per role, in contexts made with `options`. */
export async function openAs(browser, rec, options = {}) {
  const contexts = [];
  const pages = {};
  for (const [role, who] of [['guest', DEMO.guest], ['host', DEMO.host], ['anon', null]]) {
    const context = await newContext(browser, rec, options);
    contexts.push(context);
    const page = await context.newPage();
    if (who) await uiLogIn(page, who);
    pages[role] = page;
  }
  return { pages, close: () => Promise.all(contexts.map((c) => c.close())) };
}

/** Opens `p` and waits until it has drawn (data loaded, images in). */
export async function visit(page, p) {
  await page.goto(`${EDGE}${p.path}`);
  await page.locator(p.ready).first().waitFor();
  await page.waitForFunction(() => !document.querySelector('.loading'), null, { timeout: 10_000 });
  await page
    .waitForFunction(() => [...document.images].filter((i) => i.loading !== 'lazy').every((i) => i.complete), null, { timeout: 5_000 })
    .catch(() => {});
}
