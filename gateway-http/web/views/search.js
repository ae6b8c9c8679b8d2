// Search: region or keyword, dates, guests and a price range; results with the stay's
// price, rooms left, rating and thumbnail; sort and paging (GET /v1/search).

import * as api from '../api.js';
import { t } from '../i18n.js';
import { href, navigate } from '../router.js';
import { add, addDays, busy, clearErrors, field, formAlert, h, img, money, nightsBetween, notice, number, put, showError, stars, title, todayIso } from '../ui.js';

export const REGIONS = ['서울', '부산', '제주', '강릉', '속초', '경주', '전주', '여수', '인천', '대구', '가평', '양양', '통영', '남해', '포항', '춘천'];
const SORTS = ['SEARCH_SORT_RELEVANCE', 'SEARCH_SORT_PRICE_ASC', 'SEARCH_SORT_PRICE_DESC', 'SEARCH_SORT_RATING'];

/** The stay the query asks for, with defaults two weeks out. */
export function stayOf(query) {
  const checkIn = query.check_in || addDays(todayIso(), 14);
  return {
    check_in: checkIn,
    check_out: query.check_out || addDays(checkIn, 1),
    guests: query.guests || '2',
  };
}

export function render(root, ctx) {
  const q = { ...stayOf(ctx.query), region: ctx.query.region ?? '', keyword: ctx.query.keyword ?? '', sort: ctx.query.sort || SORTS[0], min_price: ctx.query.min_price ?? '', max_price: ctx.query.max_price ?? '' };
  const form = h(
    'form',
    { id: 'search-form', class: 'search-form', novalidate: true, role: 'search' },
    formAlert(),
    h(
      'div',
      { class: 'grid' },
      field({ name: 'region', labelText: t('search.region'), value: q.region, options: [['', t('search.anyRegion')], ...REGIONS.map((r) => [r, r])] }),
      field({ name: 'keyword', labelText: t('search.keyword'), value: q.keyword, type: 'search', hint: t('search.keywordHint'), maxlength: '100' }),
      field({ name: 'check_in', labelText: t('search.checkIn'), type: 'date', value: q.check_in }),
      field({ name: 'check_out', labelText: t('search.checkOut'), type: 'date', value: q.check_out }),
      field({ name: 'guests', labelText: t('search.guests'), type: 'number', value: q.guests, min: '1', max: '50', inputmode: 'numeric' }),
      field({ name: 'sort', labelText: t('search.sort'), value: q.sort, options: SORTS.map((s) => [s, t(`sort.${s}`)]) }),
      field({ name: 'min_price', labelText: t('search.minPrice'), type: 'number', value: q.min_price, min: '0', step: '10000', inputmode: 'numeric', hint: t('search.priceHint') }),
      field({ name: 'max_price', labelText: t('search.maxPrice'), type: 'number', value: q.max_price, min: '0', step: '10000', inputmode: 'numeric' }),
    ),
    h('button', { type: 'submit', class: 'primary' }, t('search.submit')),
  );
  const results = h('section', { class: 'results', 'aria-labelledby': 'results-title', 'aria-live': 'polite' });
  add(root, title(t('search.title')), form, results);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    // Empty bounds are no bounds: left out of the address.
    const data = Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ''));
    // A new query starts at its first page.
    navigate('/search', data);
  });

  return busy(form, async () => {
    try {
      const answer = await api.get('/v1/search', {
        region: q.region,
        keyword: q.keyword,
        check_in: q.check_in,
        check_out: q.check_out,
        guests: q.guests,
        sort: q.sort,
        min_price: q.min_price,
        max_price: q.max_price,
        page_size: 10,
        page_token: ctx.query.page_token,
      });
      if (!ctx.live()) return;
      clearErrors(form);
      drawResults(results, answer, q, ctx);
    } catch (error) {
      if (!ctx.live()) return;
      showError(form, error);
      put(results, );
    }
  });
}

function drawResults(section, answer, q, ctx) {
  const nights = nightsBetween(q.check_in, q.check_out);
  const stay = { check_in: q.check_in, check_out: q.check_out, guests: q.guests };
  const page = Number(ctx.query.page || 1);
  const items = (answer.results ?? []).map((r) => {
    const cheapest = (r.rooms ?? []).reduce(
      (best, room) => (!best || Number(room.totalPrice?.amount) < Number(best.totalPrice?.amount) ? room : best),
      null,
    );
    const roomsLeft = (r.rooms ?? []).reduce((sum, room) => sum + (room.roomsLeft ?? 0), 0);
    return h(
      'li',
      { class: 'card result', dataset: { propertyId: r.propertyId } },
      r.thumbnailUrl
        ? img({ class: 'thumb', src: r.thumbnailUrl, alt: '', loading: 'lazy', width: '160', height: '120' })
        : h('div', { class: 'thumb thumb-empty', 'aria-hidden': 'true' }),
      h(
        'div',
        { class: 'result-body' },
        h('h3', {}, h('a', { href: href(`/property/${r.propertyId}`, stay), class: 'result-link' }, r.name)),
        h('p', { class: 'muted' }, `${r.region} · ${r.address}`),
        h('p', {}, stars(r.rating), ' ', h('span', { class: 'muted' }, t('search.reviews', { n: number(r.reviewCount ?? 0) }))),
        h('p', { class: 'rooms-left' }, t('search.roomsLeft', { n: number(roomsLeft) }), cheapest ? ` · ${cheapest.name}` : ''),
      ),
      h(
        'p',
        { class: 'price' },
        h('span', { class: 'muted' }, t('search.stayTotal', { nights })),
        h('strong', { class: 'amount' }, money(r.lowestTotalPrice)),
      ),
    );
  });
  const pager = h(
    'nav',
    { class: 'pager', 'aria-label': t('search.results') },
    page > 1
      ? h('button', { type: 'button', class: 'secondary', onclick: () => history.back() }, t('common.prev'))
      : null,
    h('span', { class: 'muted' }, t('search.page', { n: page })),
    answer.nextPageToken
      ? h('a', { class: 'button secondary', href: href('/search', { ...q, page_token: answer.nextPageToken, page: page + 1 }) }, t('common.next'))
      : null,
  );
  put(section, 
    h('h2', { id: 'results-title' }, t('search.results')),
    items.length ? h('ul', { class: 'result-list' }, items) : notice(t('search.empty')),
    items.length || page > 1 ? pager : null,
  );
}

