// DOM building, formatting, and showing API errors next to the fields they
// name. Everything is built with createElement/textContent: no innerHTML,
// so nothing the API returns can become markup.

import { t, lang, label } from './i18n.js';

/** h('p', {class: 'x'}, 'text', child, [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key in el && typeof value !== 'string' && key !== 'list') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : value);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Like el.append, but leaves out null, undefined and false (and flattens arrays). */
export function add(el, ...children) {
  append(el, children);
  return el;
}

/** Like el.replaceChildren, but leaves out null, undefined and false. */
export function put(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let counter = 0;
/** A unique element id. */
export const uid = (prefix = 'f') => `${prefix}-${++counter}`;

/**
 * A labelled form control with a slot for its error. `name` is the request
 * field the API names in error details (e.g. "check_in"); `aliases` are
 * other names that should land here too (e.g. "range.start").
 */
export function field({ name, labelText, type = 'text', value, options, hint, aliases, ...attrs }) {
  const id = uid(name.replace(/[^a-z0-9]/gi, '-'));
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : undefined;
  let control;
  if (options) {
    control = h('select', { id, name, ...attrs }, options.map(([v, text]) => h('option', { value: v }, text)));
    if (value !== undefined) control.value = value;
  } else if (type === 'textarea') {
    control = h('textarea', { id, name, ...attrs });
    if (value !== undefined) control.value = value;
  } else {
    control = h('input', { id, name, type, ...attrs });
    if (value !== undefined && type !== 'file') control.value = value;
  }
  control.dataset.errorId = errorId;
  if (aliases) control.dataset.aliases = aliases.join(' ');
  if (hintId) control.setAttribute('aria-describedby', hintId);
  const wrap = h(
    'div',
    { class: `field field-${type === 'checkbox' ? 'check' : 'block'}` },
    type === 'checkbox' ? [control, h('label', { for: id }, labelText)] : [h('label', { for: id }, labelText), control],
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    h('p', { class: 'field-error', id: errorId, hidden: true }),
  );
  return wrap;
}

/** A form-level alert slot; filled by showError. */
export function formAlert() {
  return h('div', { class: 'form-alert', role: 'alert', hidden: true });
}

/** The message for an API error, in the page's language. */
export function errorText(error) {
  if (!error || !error.code) return t('error.generic');
  if (error.code === 'NETWORK') return t('error.network');
  if (error.status >= 500 || error.code === 'UNAVAILABLE' || error.code === 'INTERNAL') return t('error.server');
  if (error.code === 'UNAUTHENTICATED') return t('error.unauthenticated');
  if (error.code === 'PERMISSION_DENIED') return t('error.forbidden');
  if (error.code === 'RESOURCE_EXHAUSTED') return t('error.rateLimited');
  return error.message || t('error.generic');
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) {
    el.hidden = true;
    el.textContent = '';
  }
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    const hint = el.getAttribute('aria-describedby')?.split(' ').filter((id) => id !== el.dataset.errorId);
    if (hint?.length) el.setAttribute('aria-describedby', hint.join(' '));
    else el.removeAttribute('aria-describedby');
  }
  const alert = form.querySelector('.form-alert');
  if (alert) {
    alert.hidden = true;
    alert.textContent = '';
  }
}

/** The control of `form` that an error detail's field names, if any. */
function controlFor(form, fieldPath) {
  const controls = [...form.querySelectorAll('[data-error-id]')];
  const exact = (name) =>
    controls.find((c) => c.name === name || (c.dataset.aliases ?? '').split(' ').includes(name));
  // "check_in.day" belongs to check_in; "image_upload_ids[0]" to image_upload_ids.
  let path = fieldPath.replace(/\[\d+\]/g, '');
  for (;;) {
    const found = exact(path);
    if (found) return found;
    const dot = path.lastIndexOf('.');
    if (dot < 0) return null;
    path = path.slice(0, dot);
  }
}

/**
 * Shows an API error on a form: each detail next to the field it names,
 * the rest (and errors without details) in the form's alert.
 */
export function showError(form, error) {
  clearErrors(form);
  const rest = [];
  let first = null;
  for (const detail of error?.details ?? []) {
    const control = detail.field ? controlFor(form, detail.field) : null;
    if (!control) {
      rest.push(detail.description || detail.field);
      continue;
    }
    const slot = form.querySelector(`#${CSS.escape(control.dataset.errorId)}`);
    slot.textContent = slot.textContent ? `${slot.textContent} ${detail.description}` : detail.description;
    slot.hidden = false;
    control.setAttribute('aria-invalid', 'true');
    const described = new Set((control.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean));
    described.add(control.dataset.errorId);
    control.setAttribute('aria-describedby', [...described].join(' '));
    first ??= control;
  }
  if (!first || rest.length) {
    const alert = form.querySelector('.form-alert');
    const text = [errorText(error), ...rest.filter((r) => r && r !== error?.message)].join(' ');
    if (alert) {
      alert.textContent = text;
      alert.hidden = false;
    }
  }
  (first ?? form.querySelector('.form-alert'))?.focus?.();
}

/** An alert box for a view (outside forms). */
export function alertBox(error) {
  return h('div', { class: 'alert', role: 'alert' }, typeof error === 'string' ? error : errorText(error));
}

export function notice(text) {
  return h('p', { class: 'notice', role: 'status' }, text);
}

/** Disables a form's submit button while `work` runs. */
export async function busy(form, work) {
  const buttons = [...form.querySelectorAll('button')];
  buttons.forEach((b) => (b.disabled = true));
  form.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    buttons.forEach((b) => (b.disabled = false));
    form.removeAttribute('aria-busy');
  }
}

/* ---- money and dates ---- */

export function money(m) {
  const amount = Number(m?.amount ?? 0);
  const currency = m?.currency || 'KRW';
  return new Intl.NumberFormat(lang() === 'ko' ? 'ko-KR' : 'en-US', { style: 'currency', currency }).format(amount);
}

/** A short amount for tight spaces: "₩12만" in Korean, "₩120K" in English. */
export function compactMoney(m) {
  return new Intl.NumberFormat(lang() === 'ko' ? 'ko-KR' : 'en-US', {
    style: 'currency',
    currency: m?.currency || 'KRW',
    notation: 'compact',
    maximumFractionDigits: 1,
  }).format(Number(m?.amount ?? 0));
}

export function points(n) {
  return `${new Intl.NumberFormat(lang() === 'ko' ? 'ko-KR' : 'en-US').format(Number(n ?? 0))} P`;
}

export function number(n) {
  return new Intl.NumberFormat(lang() === 'ko' ? 'ko-KR' : 'en-US').format(Number(n ?? 0));
}

const pad = (n) => String(n).padStart(2, '0');

/** {year, month, day} -> "YYYY-MM-DD" */
export const isoDate = (d) => (d ? `${d.year}-${pad(d.month)}-${pad(d.day)}` : '');

/** "YYYY-MM-DD" -> {year, month, day}, or undefined when not a date. */
export function dateOf(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso ?? '');
  return m ? { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) } : undefined;
}

/** Today in Korea (the services' calendar), as "YYYY-MM-DD". */
export function todayIso() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Seoul' }).format(new Date());
}

export function addDays(iso, days) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function nightsBetween(fromIso, toIso) {
  return Math.round((Date.parse(`${toIso}T00:00:00Z`) - Date.parse(`${fromIso}T00:00:00Z`)) / 86_400_000);
}

export function showDate(d) {
  const iso = typeof d === 'string' ? d : isoDate(d);
  if (!iso) return '';
  return new Intl.DateTimeFormat(lang() === 'ko' ? 'ko-KR' : 'en-US', {
    dateStyle: 'medium',
    timeZone: 'UTC',
  }).format(new Date(`${iso}T00:00:00Z`));
}

export function showTime(ts) {
  if (!ts) return '';
  return new Intl.DateTimeFormat(lang() === 'ko' ? 'ko-KR' : 'en-US', {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'Asia/Seoul',
  }).format(new Date(ts));
}

/** A booking state as a badge. */
export function stateBadge(state, extra = {}) {
  const short = (state ?? '').replace(/^[A-Z]+(_[A-Z]+)?_STATE_/, '').toLowerCase();
  return h('span', { class: `badge badge-${short}`, dataset: { state: state ?? '' }, ...extra }, label(state));
}

export function stars(rating) {
  const r = Number(rating ?? 0);
  return h('span', { class: 'stars' }, h('span', { 'aria-hidden': 'true' }, '★'), ` ${r.toFixed(1)}`);
}

/** An image that falls back to a placeholder when its URL does not load
 * (listing photos may live on a host the browser cannot reach). */
export function img(attrs) {
  const el = h('img', { decoding: 'async', ...attrs });
  el.addEventListener(
    'error',
    () => {
      el.src = '/assets/placeholder.svg';
      el.classList.add('placeholder');
    },
    { once: true },
  );
  return el;
}

/** A heading that takes focus when a view opens, for screen readers and keyboards. */
export function title(text) {
  document.title = `${text} · staymesh`;
  return h('h1', { tabindex: '-1', class: 'view-title' }, text);
}

export function loading() {
  return h('p', { class: 'loading', role: 'status' }, t('common.loading'));
}
