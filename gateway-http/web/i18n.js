// The page's words in Korean (the default) and English. The choice is kept
// in localStorage and sets <html lang>, so screen readers pronounce it right.

import * as en from './i18n/en.js';
import * as ko from './i18n/ko.js';

const KEY = 'staymesh.lang';

const dictionaries = { ko: ko.strings, en: en.strings };
const labels = { ko: ko.labels, en: en.labels };
let current = 'ko';
try {
  const saved = localStorage.getItem(KEY);
  if (saved && dictionaries[saved]) current = saved;
} catch {
  // No storage: Korean.
}

export const lang = () => current;

export function setLang(next) {
  if (!dictionaries[next]) return;
  current = next;
  try {
    localStorage.setItem(KEY, next);
  } catch {
    // The choice lasts for this page only.
  }
  document.documentElement.lang = next;
}

/** A string of the current language, with {name} placeholders filled. */
export function t(key, vars = {}) {
  const text = dictionaries[current][key] ?? ko.strings[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** The label of an enum value, or the value itself. */
export function label(value) {
  return labels[current][value] ?? value ?? '';
}
