// Any other fragment: a plain message, never an error page.

import { t } from '../i18n.js';
import { href } from '../router.js';
import { add, h, title } from '../ui.js';

export function render(root) {
  add(root, title(t('error.notFound')), h('p', {}, h('a', { href: href('/search') }, t('nav.search'))));
}
