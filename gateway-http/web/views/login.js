// Log-in (POST /v1/auth/login); returns to the page that asked for it.

import * as api from '../api.js';
import { t } from '../i18n.js';
import { href, navigate } from '../router.js';
import { add, busy, field, formAlert, h, showError, title } from '../ui.js';

/** Goes to `next` (a route such as "/bookings?x=1"), or to search. */
export function goNext(next) {
  const [path, qs = ''] = (next && next.startsWith('/') && !next.startsWith('/login') && !next.startsWith('/signup') ? next : '/search').split('?');
  navigate(path, Object.fromEntries(new URLSearchParams(qs)));
}

export function render(root, ctx) {
  const next = ctx.query.next ?? '';
  const form = h(
    'form',
    { id: 'login-form', class: 'narrow', novalidate: true },
    formAlert(),
    field({ name: 'email', labelText: t('auth.email'), type: 'email', autocomplete: 'username', inputmode: 'email' }),
    field({ name: 'password', labelText: t('auth.password'), type: 'password', autocomplete: 'current-password' }),
    h('button', { type: 'submit', class: 'primary' }, t('auth.submitLogin')),
  );
  add(root, 
    title(t('auth.loginTitle')),
    next ? h('p', { class: 'notice' }, t('auth.required')) : null,
    form,
    h('p', {}, t('auth.noAccount'), ' ', h('a', { href: href('/signup', { next }) }, t('nav.signup'))),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form, async () => {
      try {
        await api.logIn(form.elements.email.value, form.elements.password.value);
        goNext(next);
      } catch (error) {
        showError(form, error);
      }
    });
  });
}
