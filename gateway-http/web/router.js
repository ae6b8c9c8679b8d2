// Hash routes (`#/search?…`, `#/property/ID`, `#/bookings`): the server
// answers index.html only at `/` and `/payment-return`, so the view lives
// in the fragment, which also keeps it out of server logs.

const routes = [];
let notFound = null;

/** Registers `pattern` (e.g. "/property/:id") for a view loader. */
export function route(pattern, load) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return '([^/]+)';
  });
  routes.push({ regex: new RegExp(`^${source}$`), names, load });
}

export function fallback(load) {
  notFound = load;
}

/** The current route: path, params and query. */
export function current() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, qs = ''] = hash.split('?');
  const query = Object.fromEntries(new URLSearchParams(qs));
  for (const r of routes) {
    const m = r.regex.exec(path);
    if (m) {
      const params = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
      return { path, params, query, load: r.load };
    }
  }
  return { path, params: {}, query, load: notFound };
}

/** A hash link for `path` with `query` (empty values left out). */
export function href(path, query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.append(key, String(value));
  }
  const qs = params.toString();
  return `#${path}${qs ? `?${qs}` : ''}`;
}

export function navigate(path, query = {}, { replace = false } = {}) {
  const target = href(path, query);
  if (replace) {
    history.replaceState(null, '', target);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else if (location.hash === target) {
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    location.hash = target;
  }
}
