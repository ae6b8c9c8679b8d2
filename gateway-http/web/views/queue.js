// The waiting room of a hot sale: enter (POST /v1/queues/{event}:enter),
// watch the place in line fall live (…/tickets/{ticket}:watch), and once
// admitted claim the coupon with the admission token.

import * as api from '../api.js';
import { t } from '../i18n.js';
import { add, alertBox, errorText, h, number, put, showTime, stateBadge, title } from '../ui.js';
import { couponText } from './wallet.js';

export const auth = true;

export async function render(root, ctx) {
  const eventId = ctx.params.eventId;
  add(root, title(t('queue.title')));
  const info = h('div', { class: 'event-info' });
  const status = h('div', { class: 'queue-status', id: 'queue-status', 'aria-live': 'polite' });
  const actions = h('div', { class: 'actions' });
  const result = h('p', { class: 'claim-result', role: 'status' });
  add(root, info, status, actions, result, h('p', { class: 'muted small' }, t('queue.live')));

  // The event, for its name (a time sale's queue has none).
  api.get(`/v1/issuance-events/${eventId}`).then(
    ({ event }) => {
      if (ctx.live()) put(info, h('h2', {}, event.coupon?.name ?? ''), h('p', {}, couponText(event.coupon)));
    },
    () => {},
  );

  let stream = null;
  ctx.onCleanup(() => stream?.close());

  const claim = async (button, ticket) => {
    button.disabled = true;
    try {
      const answer = await api.post(`/v1/issuance-events/${eventId}:claim`, { admissionToken: ticket.admissionToken });
      result.textContent = t(`claim.${answer.result}`);
      result.dataset.result = answer.result;
    } catch (error) {
      result.textContent = errorText(error);
      result.dataset.result = 'ERROR';
      button.disabled = false;
    }
  };

  const show = (ticket) => {
    status.dataset.state = ticket.state;
    const waiting = ticket.state === 'TICKET_STATE_WAITING';
    put(status, 
      h('p', {}, stateBadge(ticket.state)),
      waiting
        ? h(
            'p',
            { class: 'position' },
            h('span', {}, t('queue.position')),
            ' ',
            h('strong', { id: 'queue-position', dataset: { position: String(ticket.position) } }, number(ticket.position)),
          )
        : null,
      waiting ? h('p', { class: 'muted' }, t('queue.waiting', { n: number(ticket.totalWaiting) }), ' · ', t('queue.eta', { n: number(ticket.estimatedWaitSeconds ?? 0) })) : null,
      ticket.state === 'TICKET_STATE_ADMITTED' ? h('p', { class: 'admitted' }, t('queue.admitted', { time: showTime(ticket.admissionExpiresAt) })) : null,
      ticket.state === 'TICKET_STATE_EXPIRED' ? h('p', { class: 'warning' }, t('queue.expired')) : null,
      ticket.state === 'TICKET_STATE_LEFT' ? h('p', {}, t('queue.left')) : null,
    );
    if (ticket.state === 'TICKET_STATE_ADMITTED') {
      put(actions, h('button', { type: 'button', class: 'primary', id: 'queue-claim', onclick: (e) => claim(e.currentTarget, ticket) }, t('events.claim')));
    } else if (waiting) {
      put(actions, 
        h('button', {
          type: 'button',
          class: 'secondary',
          onclick: async () => {
            stream?.close();
            try {
              await api.del(`/v1/queues/${eventId}/tickets/${ticket.ticketId}`);
              show({ ...ticket, state: 'TICKET_STATE_LEFT' });
            } catch (error) {
              result.textContent = errorText(error);
            }
          },
        }, t('queue.leave')),
      );
    } else {
      put(actions, h('button', { type: 'button', class: 'primary', onclick: enter }, t('queue.enter')));
    }
  };

  async function enter() {
    stream?.close();
    let ticket;
    try {
      ticket = (await api.post(`/v1/queues/${eventId}:enter`)).ticket;
    } catch (error) {
      if (ctx.live()) put(status, alertBox(error));
      return;
    }
    if (!ctx.live()) return;
    show(ticket);
    if (ticket.state !== 'TICKET_STATE_WAITING') return;
    stream = api.watch(`/v1/queues/${eventId}/tickets/${ticket.ticketId}:watch`, {
      onMessage: (m) => show(m.ticket),
      onError: (error) => add(status, alertBox(error)),
    });
  }

  await enter();
}
