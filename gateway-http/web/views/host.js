// The host's page (ROLE_HOST): my properties (GET /v1/hosts/{me}/properties),
// the calendar of a room type edited over a date range
// (PUT /v1/room-types/{id}/calendar), and bookings by check-in
// (GET /v1/properties/{id}/bookings).

import * as api from '../api.js';
import { t } from '../i18n.js';
import { href } from '../router.js';
import { add, addDays, alertBox, busy, clearErrors, dateOf, field, formAlert, h, isoDate, money, notice, put, showDate, showError, stateBadge, title, todayIso } from '../ui.js';
import { drawMonth } from './calendar.js';

export const auth = true;

export async function render(root, ctx) {
  add(root, title(t('host.title')));
  if (!api.hasRole('ROLE_HOST')) {
    add(root, notice(t('host.notHost')));
    return;
  }
  const propertyId = ctx.query.property;
  if (propertyId) await manage(root, ctx, propertyId);
  if (!ctx.live()) return;
  const list = h('ul', { class: 'host-properties' });
  const more = h('div', { class: 'pager' });
  add(root, h('section', { 'aria-labelledby': 'host-properties-title' }, h('h2', { id: 'host-properties-title' }, t('host.properties')), list, more));
  const load = async (token) => {
    let answer;
    try {
      answer = await api.get(`/v1/hosts/${api.user().userId}/properties`, { page_size: 10, page_token: token });
    } catch (error) {
      put(more, alertBox(error));
      return;
    }
    if (!ctx.live()) return;
    const properties = answer.properties ?? [];
    if (!properties.length && !token) list.replaceWith(notice(t('host.noProperties')));
    for (const p of properties) {
      add(list, 
        h(
          'li',
          { class: 'card host-property', dataset: { propertyId: p.propertyId } },
          h('h3', {}, p.name),
          h('p', { class: 'muted' }, `${p.region} · ${p.address}`),
          h('p', {}, h('a', { class: 'button secondary manage-link', href: href('/host', { property: p.propertyId }), 'aria-current': p.propertyId === propertyId ? 'page' : undefined }, `${t('host.manage')}: ${p.name}`)),
        ),
      );
    }
    put(more, 
      answer.nextPageToken ? h('button', { type: 'button', class: 'secondary', onclick: () => load(answer.nextPageToken) }, t('host.more')) : null,
    );
  };
  await load('');
}

async function manage(root, ctx, propertyId) {
  let property;
  try {
    property = (await api.get(`/v1/properties/${propertyId}`)).property;
  } catch (error) {
    add(root, alertBox(error));
    return;
  }
  if (!ctx.live()) return;
  const roomTypes = property.roomTypes ?? [];
  const start = addDays(todayIso(), 1);
  const section = h('section', { class: 'manage', 'aria-labelledby': 'manage-title' }, h('h2', { id: 'manage-title' }, property.name));
  add(root, section);

  // Editing the calendar of a range of nights.
  const saved = h('p', { class: 'notice', role: 'status', hidden: true });
  const preview = h('div', { class: 'calendar-box' });
  const form = h(
    'form',
    { id: 'calendar-edit-form', novalidate: true, 'aria-labelledby': 'calendar-edit-title' },
    h('h3', { id: 'calendar-edit-title' }, t('host.editCalendar')),
    formAlert(),
    h(
      'div',
      { class: 'grid' },
      field({ name: 'room_type_id', labelText: t('property.roomType'), options: roomTypes.map((rt) => [rt.roomTypeId, `${rt.name} (${t('property.totalRooms', { n: rt.totalRooms })})`]) }),
      field({ name: 'start', aliases: ['range.start', 'range'], labelText: t('host.from'), type: 'date', value: start }),
      field({ name: 'end', aliases: ['range.end'], labelText: t('host.to'), type: 'date', value: addDays(start, 1) }),
      field({ name: 'price', labelText: t('host.price'), type: 'number', min: '0', step: '100', inputmode: 'numeric' }),
      field({ name: 'rooms_for_sale', labelText: t('host.roomsForSale'), type: 'number', min: '0', inputmode: 'numeric', value: String(roomTypes[0]?.totalRooms ?? 1) }),
      field({ name: 'closed', labelText: t('host.closedNight'), type: 'checkbox' }),
    ),
    saved,
    h('button', { type: 'submit', class: 'primary' }, t('host.save')),
  );
  const showPreview = () => {
    const rt = roomTypes.find((r) => r.roomTypeId === form.elements.room_type_id.value);
    const month = (form.elements.start.value || start).slice(0, 7);
    if (rt) drawMonth(preview, rt.roomTypeId, month, `${rt.name} · ${month}`);
  };
  form.elements.room_type_id.addEventListener('change', () => {
    const rt = roomTypes.find((r) => r.roomTypeId === form.elements.room_type_id.value);
    if (rt) form.elements.rooms_for_sale.value = String(rt.totalRooms);
    showPreview();
  });
  form.elements.start.addEventListener('change', showPreview);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const el = form.elements;
    busy(form, async () => {
      clearErrors(form);
      saved.hidden = true;
      try {
        const answer = await api.put(`/v1/room-types/${el.room_type_id.value}/calendar`, {
          range: { start: dateOf(el.start.value), end: dateOf(el.end.value) },
          price: { amount: el.price.value.trim() === '' ? undefined : el.price.value.trim(), currency: 'KRW' },
          roomsForSale: Number(el.rooms_for_sale.value) || 0,
          closed: el.closed.checked,
        });
        saved.textContent = t('host.saved', { n: answer.nightsUpdated ?? 0 });
        saved.hidden = false;
        showPreview();
      } catch (error) {
        showError(form, error);
      }
    });
  });
  add(section, form, preview);
  if (roomTypes.length) showPreview();

  // Bookings of the property whose stay overlaps a range, by check-in.
  const table = h('div', { class: 'table-scroll host-bookings', tabindex: '0', role: 'region', 'aria-labelledby': 'host-bookings-title' });
  const range = h(
    'form',
    { id: 'host-bookings-form', class: 'inline-form', novalidate: true, 'aria-labelledby': 'host-bookings-title' },
    h('h3', { id: 'host-bookings-title' }, t('host.bookings')),
    formAlert(),
    field({ name: 'start', aliases: ['range.start', 'range'], labelText: t('host.from'), type: 'date', value: todayIso() }),
    field({ name: 'end', aliases: ['range.end'], labelText: t('host.to'), type: 'date', value: addDays(todayIso(), 60) }),
    h('button', { type: 'submit', class: 'secondary' }, t('host.show')),
  );
  const loadBookings = () =>
    busy(range, async () => {
      clearErrors(range);
      let answer;
      try {
        answer = await api.get(`/v1/properties/${propertyId}/bookings`, {
          'range.start': range.elements.start.value,
          'range.end': range.elements.end.value,
          page_size: 50,
        });
      } catch (error) {
        showError(range, error);
        put(table, );
        return;
      }
      const bookings = (answer.bookings ?? []).slice().sort((a, b) => isoDate(a.checkIn).localeCompare(isoDate(b.checkIn)));
      if (!bookings.length) {
        put(table, notice(t('host.noBookings')));
        return;
      }
      const roomName = (id) => roomTypes.find((r) => r.roomTypeId === id)?.name ?? '';
      put(table, 
        h(
          'table',
          { class: 'data' },
          h('caption', {}, t('host.bookings')),
          h('thead', {}, h('tr', {}, [t('table.checkIn'), t('table.checkOut'), t('property.roomType'), t('table.guests'), t('table.state'), t('table.paid')].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            {},
            bookings.map((b) =>
              h(
                'tr',
                { dataset: { bookingId: b.bookingId } },
                h('td', {}, showDate(isoDate(b.checkIn))),
                h('td', {}, showDate(isoDate(b.checkOut))),
                h('td', {}, roomName(b.roomTypeId)),
                h('td', { class: 'num' }, String(b.guests)),
                h('td', {}, stateBadge(b.state)),
                h('td', { class: 'num' }, money(b.price?.paidAmount)),
              ),
            ),
          ),
        ),
      );
    });
  range.addEventListener('submit', (event) => {
    event.preventDefault();
    loadBookings();
  });
  add(section, range, table);
  await loadBookings();
}
