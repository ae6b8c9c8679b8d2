// The waiting room: two guests in two browsers enter the queue of a hot
// sale the admin set up. A third guest already holds the one admission the
// queue allows at a time (maxAdmitted = 1), so nobody moves until a token is
// spent; the admin then admits one at a time. The second guest sees its
// place fall live, is admitted after the first, and claims the coupon.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEMO, EDGE, Recorder, api, couponEvent, eventually, launch, logIn, newContext, signUp, uiLogIn } from './kit.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('two guests wait in line; the second is admitted after the first and claims', async () => {
  const rec = new Recorder();
  const admin = await logIn(rec, DEMO.admin);
  const sale = await couponEvent(rec, admin, { waitingRoom: true, quantity: 10, name: '대기실 테스트 쿠폰' });
  const eventId = sale.event.eventId;
  await api(rec, 'PUT', `/v1/queues/${eventId}`, {
    token: admin.token,
    body: { config: { active: true, admitPerSecond: 1, admissionTtlSeconds: 600, maxAdmitted: 1 } },
  });
  const admitOne = () => api(rec, 'POST', `/v1/queues/${eventId}:admit`, { token: admin.token, body: { count: 1 } });

  // The guest at the head of the line holds the only live admission.
  const first = await signUp(rec, 'queue-head');
  const { ticket: headTicket } = await api(rec, 'POST', `/v1/queues/${eventId}:enter`, { token: first.token });
  const headToken = await eventually(
    async () => {
      await admitOne();
      const { ticket } = await api(rec, 'GET', `/v1/queues/${eventId}/tickets/${headTicket.ticketId}`, { token: first.token });
      return ticket.state === 'TICKET_STATE_ADMITTED' && ticket.admissionToken;
    },
    { message: 'the head of the line admitted' },
  );

  const [a, b] = [await signUp(rec, 'queue-a'), await signUp(rec, 'queue-b')];
  const contextA = await newContext(browser, rec);
  const contextB = await newContext(browser, rec, { viewport: { width: 390, height: 844 } });
  try {
    const pageA = await contextA.newPage();
    const pageB = await contextB.newPage();
    await uiLogIn(pageA, a);
    await uiLogIn(pageB, b);

    await pageA.goto(`${EDGE}/#/queue/${eventId}`);
    await pageA.locator('#queue-position[data-position="1"]').waitFor();
    await pageB.goto(`${EDGE}/#/queue/${eventId}`);
    await pageB.locator('#queue-position[data-position="2"]').waitFor();

    // The head spends its token: one place frees up, and the admin admits A.
    const claimed = await api(rec, 'POST', `/v1/issuance-events/${eventId}:claim`, {
      token: first.token,
      body: { admissionToken: headToken },
    });
    assert.equal(claimed.result, 'CLAIM_RESULT_CLAIMED');
    await admitOne();
    await pageA.locator('#queue-claim').waitFor();
    // B moved up live, and is not admitted while A holds the place.
    await pageB.locator('#queue-position[data-position="1"]').waitFor();
    assert.equal(await pageB.locator('#queue-claim').count(), 0);

    await pageA.locator('#queue-claim').click();
    await pageA.locator('.claim-result[data-result="CLAIM_RESULT_CLAIMED"]').waitFor();

    // A spent its token; the admin admits B, who claims.
    await admitOne();
    await pageB.locator('#queue-claim').waitFor();
    await pageB.locator('#queue-status[data-state="TICKET_STATE_ADMITTED"]').waitFor();
    await pageB.locator('#queue-claim').click();
    await pageB.locator('.claim-result[data-result="CLAIM_RESULT_CLAIMED"]').waitFor();

    const { userCoupons } = await api(rec, 'GET', '/v1/me/coupons', { token: b.token });
    assert.ok(
      await eventually(async () => {
        const { userCoupons: now } = await api(rec, 'GET', '/v1/me/coupons', { token: b.token });
        return now.some((c) => c.eventId === eventId);
      }, { message: "B's coupon in the coupon box" }),
      `B has the coupon (${userCoupons?.length ?? 0})`,
    );
  } finally {
    await contextA.close();
    await contextB.close();
    await api(rec, 'PUT', `/v1/queues/${eventId}`, {
      token: admin.token,
      body: { config: { active: false, admitPerSecond: 1, admissionTtlSeconds: 600, maxAdmitted: 1 } },
    }).catch(() => {});
    await sale.close();
  }
  rec.assertClean();
});
