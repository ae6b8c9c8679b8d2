// Sign-up (POST /v1/auth/signup). The rules (password length and mix,
// email shape) are the API's: its errors are shown next to each field.

import * as api from '../api.js';
import { t } from '../i18n.js';
import { href } from '../router.js';
import { add, busy, field, formAlert, h, showError, title } from '../ui.js';
import { goNext } from './login.js';

export function render(root, ctx) {
  const next = ctx.query.next ?? '';
  const form = h(
    'form',
    { id: 'signup-form', class: 'narrow', novalidate: true },
    formAlert(),
    field({ name: 'email', labelText: t('auth.email'), type: 'email', autocomplete: 'email', inputmode: 'email' }),
    field({ name: 'password', labelText: t('auth.password'), type: 'password', autocomplete: 'new-password', hint: t('auth.passwordHint') }),
    field({ name: 'name', labelText: t('auth.name'), autocomplete: 'name' }),
    field({ name: 'phone', labelText: t('auth.phone'), type: 'tel', autocomplete: 'tel' }),
    h('button', { type: 'submit', class: 'primary' }, t('auth.submitSignup')),
  );
  add(root, 
    title(t('auth.signupTitle')),
    form,
    h('p', {}, t('auth.haveAccount'), ' ', h('a', { href: href('/login', { next }) }, t('nav.login'))),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    busy(form, async () => {
      try {
        await api.signUp({ email: data.email, password: data.password, name: data.name, phone: data.phone || undefined });
        goNext(next);
      } catch (error) {
        showError(form, error);
      }
    });
  });
}
