// A month of one room type's nights as a table: price and rooms left per
// night (GET /v1/room-types/{id}/calendar). Shared by the property page and
// the host's calendar editor.

import * as api from '../api.js';
import { t } from '../i18n.js';
import { addDays, alertBox, compactMoney, h, isoDate, put, todayIso } from '../ui.js';

/** "YYYY-MM" of today in Korea. */
export const thisMonth = () => todayIso().slice(0, 7);

/** Draws `month` ("YYYY-MM") of `roomTypeId` into `box`. */
export async function drawMonth(box, roomTypeId, month, caption) {
  const first = `${month}-01`;
  const [y, m] = month.split('-').map(Number);
  const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
  // Nights before today are history; ask from today within the month.
  const today = todayIso();
  const start = first < today && today < next ? today : first;
  put(box, h('p', { class: 'loading', role: 'status' }, t('common.loading')));
  let nights = [];
  if (start < next) {
    try {
      const answer = await api.get(`/v1/room-types/${roomTypeId}/calendar`, { 'range.start': start, 'range.end': next });
      nights = answer.nights ?? [];
    } catch (error) {
      put(box, alertBox(error));
      return;
    }
  }
  const byDate = new Map(nights.map((n) => [isoDate(n.date), n]));
  const weekdays = t('weekday.short').split(',');
  const offset = new Date(`${first}T00:00:00Z`).getUTCDay();
  const cells = [];
  for (let i = 0; i < offset; i += 1) cells.push(h('td', { class: 'empty' }));
  for (let day = first; day < next; day = addDays(day, 1)) {
    const night = byDate.get(day);
    let status;
    let cls = 'night';
    if (!night) {
      status = t('property.noPrice');
      cls += ' night-none';
    } else if (night.closed) {
      status = t('property.closed');
      cls += ' night-closed';
    } else if (!night.available) {
      status = t('property.soldOut');
      cls += ' night-soldout';
    } else {
      status = t('property.available', { n: night.available });
    }
    cells.push(
      h(
        'td',
        { class: cls, dataset: { date: day } },
        h('span', { class: 'day' }, String(Number(day.slice(8)))),
        // Cells are narrow on phones: a short amount (₩12만, ₩120K).
        night ? h('span', { class: 'night-price' }, compactMoney(night.price)) : null,
        h('span', { class: 'night-status' }, status),
      ),
    );
  }
  const rows = [];
  for (let i = 0; i < cells.length; i += 7) rows.push(h('tr', {}, cells.slice(i, i + 7)));
  put(box, 
    h(
      'div',
      { class: 'calendar-scroll', tabindex: '0', role: 'region', 'aria-label': caption },
      h(
        'table',
        { class: 'calendar' },
        h('caption', {}, caption),
        h('thead', {}, h('tr', {}, weekdays.map((d) => h('th', { scope: 'col' }, d)))),
        h('tbody', {}, rows),
      ),
    ),
  );
}
