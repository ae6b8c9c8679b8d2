// The page's entry: resumes the session, draws the header, and shows the
// view of the current route (or handles the return from the payment page).

import * as api from './api.js';
import { lang, setLang, t } from './i18n.js';
import { current, fallback, href, navigate, route } from './router.js';
import { add, alertBox, h, loading, put } from './ui.js';

const view = (name) => () => import(`./views/${name}.js`);

route('/', view('search'));
route('/search', view('search'));
route('/property/:id', view('property'));
route('/book', view('book'));
route('/booking/:id', view('booking'));
route('/bookings', view('bookings'));
route('/review/:bookingId', view('review'));
route('/wallet', view('wallet'));
route('/events', view('events'));
route('/queue/:eventId', view('queue'));
route('/host', view('host'));
route('/login', view('login'));
route('/signup', view('signup'));
fallback(view('not-found'));

let cleanups = [];
let renderSeq = 0;

function runCleanups() {
  for (const fn of cleanups.splice(0)) {
    try {
      fn();
    } catch {
      // A view's cleanup failing must not stop the next view.
    }
  }
}

/** Shows the view of the current route. */
async function render({ focus = true } = {}) {
  const seq = ++renderSeq;
  runCleanups();
  const main = document.getElementById('main');
  const r = current();
  put(main, loading());
  let module;
  try {
    module = await r.load();
  } catch {
    if (seq === renderSeq) put(main, alertBox(t('error.network')));
    return;
  }
  if (seq !== renderSeq) return;
  const container = h('div', { class: `view view-${r.path.split('/')[1] || 'search'}` });
  put(main, container);
  const ctx = {
    params: r.params,
    query: r.query,
    path: r.path,
    // Views register what to stop (streams, timers) when the route changes.
    onCleanup(fn) {
      if (seq === renderSeq) cleanups.push(fn);
      else fn();
    },
    live: () => seq === renderSeq,
    rerender: () => render({ focus: false }),
  };
  if (module.auth && !api.signedIn()) {
    navigate('/login', { next: location.hash.replace(/^#/, '') }, { replace: true });
    return;
  }
  const done = Promise.resolve()
    .then(() => module.render(container, ctx))
    .catch((error) => {
      if (seq === renderSeq) add(container, alertBox(error));
    });
  // The heading is drawn synchronously; moving focus there tells screen
  // readers and keyboard users that the view changed.
  if (focus) container.querySelector('.view-title')?.focus({ preventScroll: false });
  await done;
}

function drawHeader() {
  document.documentElement.lang = lang();
  const nav = document.getElementById('nav');
  nav.setAttribute('aria-label', t('nav.label'));
  const here = location.hash.replace(/^#/, '').split('?')[0] || '/';
  const link = (path, key) =>
    h('li', {}, h('a', { href: href(path), 'aria-current': here === path ? 'page' : undefined }, t(key)));
  put(nav, 
    h(
      'ul',
      {},
      link('/search', 'nav.search'),
      link('/events', 'nav.events'),
      link('/bookings', 'nav.bookings'),
      link('/wallet', 'nav.wallet'),
      api.hasRole('ROLE_HOST') ? link('/host', 'nav.host') : null,
    ),
  );
  const session = document.getElementById('session');
  const me = api.user();
  if (api.signedIn()) {
    put(session, 
      h('span', { class: 'hello' }, t('nav.hello', { name: me?.name ?? '' })),
      h(
        'button',
        {
          type: 'button',
          class: 'link-button',
          id: 'logout',
          onclick: async () => {
            await api.logOut();
            navigate('/search');
          },
        },
        t('nav.logout'),
      ),
    );
  } else {
    put(session, 
      h('a', { href: href('/login') }, t('nav.login')),
      h('a', { href: href('/signup') }, t('nav.signup')),
    );
  }
  const toggle = document.getElementById('lang-toggle');
  toggle.textContent = t('nav.lang');
  toggle.lang = lang() === 'ko' ? 'en' : 'ko';
  const skip = document.getElementById('skip-link');
  skip.textContent = t('app.skip');
}

async function boot() {
  document.getElementById('skip-link').addEventListener('click', (event) => {
    // The fragment is the router's, so skip by moving focus instead.
    event.preventDefault();
    document.getElementById('main').focus();
  });
  document.getElementById('lang-toggle').addEventListener('click', () => {
    setLang(lang() === 'ko' ? 'en' : 'ko');
    drawHeader();
    render({ focus: false });
  });
  drawHeader();
  await api.resume();
  api.onSessionChange(drawHeader);
  drawHeader();
  window.addEventListener('hashchange', () => {
    drawHeader();
    render();
  });
  if (location.pathname === '/payment-return') {
    // The payment gateway sent the browser back here; the view approves the
    // payment and then moves to the booking's own route.
    const module = await import('./views/payment-return.js');
    const main = document.getElementById('main');
    const container = h('div', { class: 'view view-payment' });
    put(main, container);
    await module.render(container, { query: Object.fromEntries(new URLSearchParams(location.search)) });
    return;
  }
  render({ focus: false });
}

boot();
