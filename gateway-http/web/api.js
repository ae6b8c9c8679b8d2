// Talking to the edge: JSON calls, the session's tokens, API errors and
// server-sent events.
//
// Tokens are kept the way a careful single-page app keeps them:
// - the access token lives only in this module's memory: nothing in storage
//   for an injected script or another tab to read, and a reload forgets it;
// - the refresh token is in sessionStorage (this tab only, gone with the
//   tab), so a reload, or the browser's return from the payment gateway's
//   checkout page, resumes the session with one refresh;
// - the access token is refreshed a minute before it expires, and a request
//   answered 401 is retried once after a refresh;
// - refresh tokens are single-use, so concurrent refreshes share one call;
// - log-out calls /v1/auth/logout and then forgets everything, even when
//   that call fails (the server-side session then simply expires).

const REFRESH_KEY = 'staymesh.refreshToken';
// Refresh this long before the access token expires.
const REFRESH_AHEAD_MS = 60_000;

let accessToken = null;
let refreshTimer = null;
let refreshing = null;
let currentUser = null;
const listeners = new Set();

/** An error the API answered with, or a network failure in the same shape. */
export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The signed-in user (from GET /v1/me), or null. */
export function user() {
  return currentUser;
}

export function signedIn() {
  return accessToken !== null;
}

export function hasRole(role) {
  return Boolean(currentUser?.roles?.includes(role));
}

/** Calls `fn` whenever the user signs in or out. */
export function onSessionChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function notify() {
  for (const fn of listeners) fn(currentUser);
}

function storedRefreshToken() {
  try {
    return sessionStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function adopt(tokens) {
  accessToken = tokens.accessToken;
  try {
    sessionStorage.setItem(REFRESH_KEY, tokens.refreshToken);
  } catch {
    // Storage disabled: the session lasts as long as this page.
  }
  clearTimeout(refreshTimer);
  const expires = Date.parse(tokens.accessTokenExpiresAt);
  if (Number.isFinite(expires)) {
    const wait = Math.max(expires - Date.now() - REFRESH_AHEAD_MS, 5_000);
    refreshTimer = setTimeout(() => refresh().catch(() => {}), wait);
  }
}

function forget() {
  accessToken = null;
  currentUser = null;
  clearTimeout(refreshTimer);
  try {
    sessionStorage.removeItem(REFRESH_KEY);
  } catch {
    // Nothing stored.
  }
}

/** Trades the refresh token for new tokens; one call at a time. */
function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const token = storedRefreshToken();
      if (!token) throw new ApiError(401, 'UNAUTHENTICATED', 'not signed in');
      try {
        const answer = await send('POST', '/v1/auth/refresh', { body: { refreshToken: token }, auth: false });
        adopt(answer.tokens);
      } catch (error) {
        // A refresh token that no longer works ends the session; a network
        // failure keeps it for the next try.
        if (error.status && error.status < 500) {
          forget();
          notify();
        }
        throw error;
      }
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** Resumes a session kept in this tab, if any. Never throws. */
export async function resume() {
  if (!storedRefreshToken()) return;
  try {
    await refresh();
    await loadMe();
  } catch {
    // Signed out, or the edge is unreachable: the page works signed out.
  }
}

async function loadMe() {
  const answer = await call('GET', '/v1/me');
  currentUser = answer.user;
  notify();
  return currentUser;
}

export async function logIn(email, password) {
  const answer = await send('POST', '/v1/auth/login', { body: { email, password }, auth: false });
  adopt(answer.tokens);
  currentUser = answer.user;
  notify();
  return currentUser;
}

export async function signUp(fields) {
  const answer = await send('POST', '/v1/auth/signup', { body: fields, auth: false });
  adopt(answer.tokens);
  currentUser = answer.user;
  notify();
  return currentUser;
}

export async function logOut() {
  const token = storedRefreshToken();
  try {
    if (token) await call('POST', '/v1/auth/logout', { body: { refreshToken: token } });
  } catch {
    // Forget the session anyway; it expires on the server by itself.
  } finally {
    forget();
    notify();
  }
}

function url(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.append(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** An ApiError from a non-2xx response, whatever its body. */
async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's page): never shown as is.
  }
  const e = body?.error;
  if (e && typeof e.message === 'string') {
    return new ApiError(response.status, e.code ?? 'UNKNOWN', e.message, Array.isArray(e.details) ? e.details : []);
  }
  return new ApiError(response.status, response.status >= 500 ? 'UNAVAILABLE' : 'UNKNOWN', '');
}

/** One HTTP exchange, with the access token when there is one and `auth` allows. */
async function raw(method, path, { body, query, auth = true, signal, headers = {} } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (auth && accessToken) h.Authorization = `Bearer ${accessToken}`;
  try {
    return await fetch(url(path, query), {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK', '');
  }
}

async function send(method, path, options) {
  const response = await raw(method, path, options);
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return {};
  return response.json();
}

/** A fetch that refreshes and retries once on 401. */
async function authed(method, path, options = {}) {
  if (!accessToken && storedRefreshToken()) {
    await refresh().catch(() => {});
  }
  let response = await raw(method, path, options);
  if (response.status === 401 && storedRefreshToken()) {
    await refresh();
    response = await raw(method, path, options);
  }
  return response;
}

/** A JSON call to the API; throws ApiError. */
export async function call(method, path, options = {}) {
  const response = await authed(method, path, options);
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return {};
  return response.json();
}

export const get = (path, query, options = {}) => call('GET', path, { ...options, query });
export const post = (path, body = {}, options = {}) => call('POST', path, { ...options, body });
export const put = (path, body = {}, options = {}) => call('PUT', path, { ...options, body });
export const del = (path, options = {}) => call('DELETE', path, options);

/** Uploads a file to a signed URL (no bearer token: the URL is the grant). */
export async function upload(uploadUrl, file) {
  let response;
  try {
    response = await fetch(uploadUrl, { method: 'PUT', headers: { 'Content-Type': file.type }, body: file });
  } catch {
    throw new ApiError(0, 'NETWORK', '');
  }
  if (!response.ok) throw await errorOf(response);
}

/**
 * Follows a server-streaming call served as server-sent events. EventSource
 * cannot send the Authorization header, so this reads the stream itself.
 * `message` events carry JSON; an `error` event ends the stream with an API
 * error; `end` ends it cleanly. A connection that drops without `end` is
 * opened again (with backoff), since the first message is always the
 * current state.
 */
export function watch(path, { onMessage, onError, onEnd }) {
  const abort = new AbortController();
  let closed = false;
  const close = () => {
    closed = true;
    abort.abort();
  };
  (async () => {
    let failures = 0;
    while (!closed) {
      let finished = false;
      try {
        const response = await authed('GET', path, {
          signal: abort.signal,
          headers: { Accept: 'text/event-stream' },
        });
        if (!response.ok) {
          const error = await errorOf(response);
          if (response.status < 500 || failures >= 4) {
            if (!closed) onError?.(error);
            return;
          }
        } else {
          failures = 0;
          await readEvents(response.body, (event, data) => {
            if (closed || finished) return;
            if (event === 'message') {
              onMessage(JSON.parse(data));
            } else if (event === 'error') {
              finished = true;
              const e = JSON.parse(data)?.error ?? {};
              onError?.(new ApiError(0, e.code ?? 'UNKNOWN', e.message ?? '', e.details ?? []));
            } else if (event === 'end') {
              finished = true;
              onEnd?.();
            }
          });
        }
      } catch (error) {
        if (closed || error.name === 'AbortError') return;
      }
      if (finished || closed) return;
      failures += 1;
      if (failures > 5) {
        onError?.(new ApiError(0, 'NETWORK', ''));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** failures, 8_000)));
    }
  })();
  return { close };
}

/** Parses a text/event-stream body, calling `fn(event, data)` per event. */
async function readEvents(body, fn) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = 'message';
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (data.length) fn(event, data.join('\n'));
        event = 'message';
        data = [];
      } else if (line.startsWith(':')) {
        // A keep-alive comment.
      } else {
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (name === 'event') event = value;
        else if (name === 'data') data.push(value);
      }
    }
  }
}

/** Reads the user again (after a role change, say). */
export const reloadMe = loadMe;
