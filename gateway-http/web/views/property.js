// A property: photos, room types (each with a link to book it), a month's
// calendar of prices and rooms left, and reviews with the rating
// distribution.

import * as api from '../api.js';
import { t } from '../i18n.js';
import { href } from '../router.js';
import { add, alertBox, field, h, img, money, nightsBetween, notice, number, put, showDate, showTime, stars, title } from '../ui.js';
import { drawMonth, thisMonth } from './calendar.js';
import { stayOf } from './search.js';

export async function render(root, ctx) {
  const id = ctx.params.id;
  const stay = stayOf(ctx.query);
  const heading = title('…');
  add(root, heading);
  let property;
  try {
    property = (await api.get(`/v1/properties/${id}`)).property;
  } catch (error) {
    add(root, alertBox(error));
    return;
  }
  if (!ctx.live()) return;
  heading.textContent = property.name;
  document.title = `${property.name} · staymesh`;
  const photos = property.imageUrls ?? [];
  add(root, 
    h('p', { class: 'muted' }, `${property.region} · ${property.address}`),
    h('p', {}, stars(property.rating), ' ', h('span', { class: 'muted' }, t('search.reviews', { n: number(property.reviewCount ?? 0) }))),
    photos.length
      ? h(
          'section',
          { class: 'gallery', 'aria-label': t('property.photos') },
          h('ul', {}, photos.map((src, i) => h('li', {}, img({ src, alt: t('property.photoAlt', { name: property.name, n: i + 1 }), loading: i ? 'lazy' : 'eager' })))),
        )
      : null,
    h(
      'section',
      { class: 'about' },
      h('h2', {}, t('property.about')),
      property.description ? h('p', {}, property.description) : null,
      h('p', {}, t('property.checkTimes', { in: property.checkInTime || '15:00', out: property.checkOutTime || '11:00' })),
      property.amenities?.length ? h('p', {}, h('span', { class: 'muted' }, `${t('property.amenities')}: `), property.amenities.join(', ')) : null,
    ),
  );

  const roomTypes = property.roomTypes ?? [];
  add(root, 
    h(
      'section',
      { class: 'rooms', 'aria-labelledby': 'rooms-title' },
      h('h2', { id: 'rooms-title' }, t('property.rooms')),
      h(
        'ul',
        { class: 'room-list' },
        roomTypes.map((rt) =>
          h(
            'li',
            { class: 'card room', dataset: { roomTypeId: rt.roomTypeId } },
            h('h3', {}, rt.name),
            h('p', {}, t('property.occupancy', { base: rt.baseOccupancy, max: rt.maxOccupancy }), ' · ', t('property.totalRooms', { n: rt.totalRooms })),
            Number(rt.extraGuestFee?.amount) > 0 ? h('p', { class: 'muted' }, t('property.extraFee', { fee: money(rt.extraGuestFee) })) : null,
            h('p', { class: 'room-stay', 'aria-live': 'polite' }),
            h('a', { class: 'button primary book-link', href: href('/book', { property: id, room_type: rt.roomTypeId, ...stay }) }, t('property.book')),
          ),
        ),
      ),
    ),
  );
  for (const rt of roomTypes) stayPrice(root, rt, stay);

  if (roomTypes.length) {
    const box = h('div', { class: 'calendar-box' });
    const month = (stay.check_in ?? '').slice(0, 7) || thisMonth();
    const form = h(
      'form',
      { class: 'inline-form', id: 'calendar-form', novalidate: true },
      field({ name: 'room_type_id', labelText: t('property.roomType'), options: roomTypes.map((rt) => [rt.roomTypeId, rt.name]) }),
      field({ name: 'month', labelText: t('property.month'), type: 'month', value: month < thisMonth() ? thisMonth() : month, min: thisMonth() }),
      h('button', { type: 'submit', class: 'secondary' }, t('property.showMonth')),
    );
    const show = () => {
      const rt = roomTypes.find((r) => r.roomTypeId === form.elements.room_type_id.value) ?? roomTypes[0];
      const m = /^\d{4}-\d{2}$/.test(form.elements.month.value) ? form.elements.month.value : thisMonth();
      drawMonth(box, rt.roomTypeId, m, `${rt.name} · ${m}`);
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      show();
    });
    form.elements.room_type_id.addEventListener('change', show);
    add(root, h('section', { class: 'calendar-section', 'aria-labelledby': 'calendar-title' }, h('h2', { id: 'calendar-title' }, t('property.calendar')), form, box));
    show();
  }

  const reviews = h('section', { class: 'reviews', id: 'reviews', 'aria-labelledby': 'reviews-title' }, h('h2', { id: 'reviews-title' }, t('property.reviews')));
  add(root, reviews);
  await drawReviews(reviews, id, ctx);
}

/** What the chosen stay costs in a room type, or why it cannot be booked. */
async function stayPrice(root, rt, stay) {
  const li = root.querySelector(`li.room[data-room-type-id="${CSS.escape(rt.roomTypeId)}"]`);
  const slot = li?.querySelector('.room-stay');
  const nights = nightsBetween(stay.check_in, stay.check_out);
  if (!slot || !(nights > 0)) return;
  let list;
  try {
    list = (await api.get(`/v1/room-types/${rt.roomTypeId}/calendar`, { 'range.start': stay.check_in, 'range.end': stay.check_out })).nights ?? [];
  } catch {
    return;
  }
  const guests = Number(stay.guests) || 1;
  const open = list.length === nights && list.every((n) => !n.closed && n.available > 0);
  const fits = guests <= rt.maxOccupancy;
  const total =
    list.reduce((sum, n) => sum + Number(n.price?.amount ?? 0), 0) +
    Number(rt.extraGuestFee?.amount ?? 0) * Math.max(guests - rt.baseOccupancy, 0) * nights;
  li.dataset.bookable = String(open && fits);
  const when = `${showDate(stay.check_in)} → ${showDate(stay.check_out)}, ${t('common.guests', { n: guests })}`;
  put(slot, 
    open && fits
      ? [h('span', { class: 'muted' }, `${when}: `), h('strong', {}, money({ amount: total }))]
      : h('span', { class: 'warning' }, `${when}: ${t(fits ? 'property.soldOut' : 'property.tooMany')}`),
  );
}

async function drawReviews(section, id, ctx) {
  let summary;
  let list;
  try {
    [summary, list] = await Promise.all([
      api.get(`/v1/properties/${id}/rating-summary`),
      api.get(`/v1/properties/${id}/reviews`, { page_size: 10 }),
    ]);
  } catch (error) {
    add(section, alertBox(error));
    return;
  }
  if (!ctx.live()) return;
  const count = summary.count ?? 0;
  const dist = summary.distribution ?? {};
  add(section, 
    h('p', { class: 'rating-summary' }, stars(summary.average), ' ', t('property.ratingSummary', { avg: Number(summary.average ?? 0).toFixed(1), n: number(count) })),
    h(
      'ul',
      { class: 'distribution' },
      [5, 4, 3, 2, 1].map((star) => {
        const n = Number(dist[star] ?? dist[String(star)] ?? 0);
        const text = t('property.ratingBar', { star, n: number(n) });
        return h(
          'li',
          {},
          h('span', { class: 'dist-star', 'aria-hidden': 'true' }, `${star}★`),
          h('meter', { min: '0', max: String(Math.max(count, 1)), value: String(n), 'aria-label': text, title: text }),
          h('span', { class: 'dist-count', 'aria-hidden': 'true' }, number(n)),
        );
      }),
    ),
  );
  const reviews = list.reviews ?? [];
  if (!reviews.length) {
    add(section, notice(t('property.noReviews')));
    return;
  }
  add(section, 
    h(
      'ul',
      { class: 'review-list' },
      reviews.map((r) =>
        h(
          'li',
          { class: 'card review', dataset: { reviewId: r.reviewId } },
          h('p', { class: 'review-head' }, h('strong', {}, r.authorName), ' ', stars(r.rating), ' ', h('span', { class: 'muted' }, showTime(r.createdAt))),
          h('p', { class: 'review-text' }, r.text),
          r.images?.length
            ? h(
                'ul',
                { class: 'review-images' },
                r.images.map((image, i) => h('li', {}, img({ src: image.url, alt: t('property.reviewPhoto', { author: r.authorName, n: i + 1 }), loading: 'lazy' }))),
              )
            : null,
        ),
      ),
    ),
  );
}
