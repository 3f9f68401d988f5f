// Shared by the pages' scripts (/ and /admin): JSON calls to the API with the cookie, the
// server's error messages, and small DOM helpers. The token itself is HttpOnly: no script here
// ever sees it.

/** An answer that was not 2xx, carrying the server's `{error, message}` (and the whole body). */
export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** Calls the API once; resolves to the JSON body (null when there is none) or throws ApiError. */
async function call(method, url, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch {
    throw new ApiError(0, 'network', 'the server cannot be reached; check the connection');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const message = data?.message ?? `the server answered ${res.status} ${res.statusText}`;
    throw new ApiError(res.status, data?.error ?? `http_${res.status}`, message, data);
  }
  return data;
}

// Calls that must not be retried after a refresh: the refresh itself and the ones that start
// or end a session (a passkey's login included: before it there is no session to refresh).
const NO_RETRY = new Set([
  '/refresh',
  '/authenticate',
  '/authenticate/mfa',
  '/authenticate/passkey/start',
  '/authenticate/passkey/finish',
  '/authenticate/mfa/passkey/start',
  '/authenticate/mfa/passkey/finish',
  '/blacklist/logout',
  '/blacklist/logout-all',
]);
// 401s that refuse what was typed (a password, a code), not the token: a refresh would not
// help, and a retry would count the same wrong password twice on the throttle.
// A refused passkey is one of them: its ceremony is spent, a retry would be refused again.
const NOT_THE_TOKEN = new Set(['invalid_credentials', 'invalid_code', 'mfa_challenge_invalid', 'passkey_refused']);
let refreshing = null;

/** POST /refresh, shared by every call that needs it at the same moment. */
export function refresh() {
  refreshing ??= call('POST', '/refresh').finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/**
 * Calls the API. An access token lives an hour, the refresh cookie two weeks: on a 401 the
 * refresh cookie is tried once, and the call repeated with the new token. If that fails too,
 * the first 401 is what the caller sees.
 */
export async function api(method, url, body) {
  try {
    return await call(method, url, body);
  } catch (err) {
    if (err.status !== 401 || NO_RETRY.has(url) || NOT_THE_TOKEN.has(err.code)) throw err;
    try {
      await refresh();
    } catch {
      throw err;
    }
    return call(method, url, body);
  }
}

// ---- Passkeys: WebAuthn's options and credentials as JSON, binary fields in base64url ----

/** base64url (no padding, as the server sends it) to an ArrayBuffer. */
export function fromBase64url(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
}

/** An ArrayBuffer (or a view of one) to base64url without padding. */
export function toBase64url(bytes) {
  const view = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let binary = '';
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A copy of a JSON value without its null members (WebAuthn's dictionaries take none). */
function withoutNulls(value) {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, withoutNulls(v)]),
  );
}

/** The credential ids of `excludeCredentials` or `allowCredentials`, decoded. */
const descriptors = (list) => list?.map((c) => ({ ...c, id: fromBase64url(c.id) }));

/** The server's `{publicKey}` for navigator.credentials.create, its binary fields decoded. */
export function creationOptions({ publicKey }) {
  const options = withoutNulls(publicKey);
  options.challenge = fromBase64url(options.challenge);
  options.user = { ...options.user, id: fromBase64url(options.user.id) };
  if (options.excludeCredentials) options.excludeCredentials = descriptors(options.excludeCredentials);
  return { publicKey: options };
}

/** The server's `{publicKey}` for navigator.credentials.get, its binary fields decoded. */
export function requestOptions({ publicKey }) {
  const options = withoutNulls(publicKey);
  options.challenge = fromBase64url(options.challenge);
  if (options.allowCredentials) options.allowCredentials = descriptors(options.allowCredentials);
  return { publicKey: options };
}

/** A new passkey (navigator.credentials.create's answer) as the server reads it. */
export function registrationJson(credential) {
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response: {
      attestationObject: toBase64url(credential.response.attestationObject),
      clientDataJSON: toBase64url(credential.response.clientDataJSON),
    },
  };
}

/** A passkey's signature (navigator.credentials.get's answer) as the server reads it. */
export function assertionJson(credential) {
  const { response } = credential;
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response: {
      authenticatorData: toBase64url(response.authenticatorData),
      clientDataJSON: toBase64url(response.clientDataJSON),
      signature: toBase64url(response.signature),
      userHandle: response.userHandle ? toBase64url(response.userHandle) : null,
    },
  };
}

/** Whether this browser, on this page, can use passkeys at all (WebAuthn, a secure context). */
export const passkeysAvailable = () => window.isSecureContext && typeof window.PublicKeyCredential === 'function';

/**
 * What the browser's refusal of a passkey ceremony means, in words. The browser says little on
 * purpose (a refused prompt and an unknown passkey look alike), so neither does this.
 */
export function passkeyProblem(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'AbortError':
      return 'the passkey prompt was cancelled or timed out';
    case 'InvalidStateError':
      return 'this authenticator already holds a passkey for your account';
    case 'SecurityError':
      return 'this page’s address is not the one the server’s passkeys belong to';
    case 'NotSupportedError':
      return 'this browser or authenticator cannot make a passkey the server accepts';
    default:
      return err?.message || 'the browser could not use a passkey';
  }
}

/** Shows `text` in a message element; kind is 'ok', 'error' or 'info'. */
export function say(el, text, kind = 'info') {
  el.textContent = text;
  el.dataset.kind = kind;
}

/** Shows an error: the server's own message (every API error carries one). */
export function sayError(el, err) {
  say(el, err.message, 'error');
}

/** An element with attributes and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== false && value !== null && value !== undefined) el.setAttribute(name, value);
  }
  el.append(...children);
  return el;
}

/** An SVG element with attributes. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  el.append(...children);
  return el;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
const dateOnly = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "in 59 minutes", "3 minutes ago", "now". */
export function fromNow(iso) {
  const seconds = Math.round((new Date(iso) - Date.now()) / 1000);
  const units = [['day', 86400], ['hour', 3600], ['minute', 60]];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(seconds, 'second');
}

/** A <time> element for an RFC 3339 instant, in local time, with the exact value as tooltip. */
export function when(iso) {
  return h('time', { datetime: iso, title: iso }, dateTime.format(new Date(iso)));
}

/** A <time> element for the day of an RFC 3339 instant, with the exact value as tooltip. */
export function day(iso) {
  return h('time', { datetime: iso, title: iso }, dateOnly.format(new Date(iso)));
}

/** An RFC 3339 instant as local time, in plain text (for messages). */
export function local(iso) {
  return dateTime.format(new Date(iso));
}

/** `when(iso)`, or `otherwise` (a string) when there is no instant. */
export function whenOr(iso, otherwise) {
  return iso ? when(iso) : otherwise;
}

/** A query string (with its `?`) from `[name, value]` pairs; empty values are left out. */
export function query(pairs) {
  const params = new URLSearchParams();
  for (const [name, value] of pairs) {
    if (value !== '' && value !== null && value !== undefined) params.append(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** An `<input type="datetime-local">` value (local time) as RFC 3339 in UTC; '' stays ''. */
export function instant(local) {
  if (!local) return '';
  const at = new Date(local);
  if (Number.isNaN(at.getTime())) return '';
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `n session(s)`, `n row(s)`: a count with its noun. */
export const count = (n, noun) => `${n} ${n === 1 ? noun : `${noun}s`}`;

/** What an audit event's kind means, in words. */
export const KINDS = {
  'login.succeeded': 'Logged in',
  'login.failed': 'Failed login',
  'login.throttled': 'Login throttled',
  logout: 'Logged out',
  logout_all: 'Logged out everywhere',
  'session.ended': 'Session ended',
  'session.expired': 'Session expired',
  'refresh.reuse_detected': 'Refresh token reused: session ended',
  'password.changed': 'Password changed',
  'user.created': 'Account created',
  'user.deleted': 'Account deleted',
  'role.changed': 'Role changed',
  'user.locked': 'Account locked',
  'user.unlocked': 'Account unlocked',
  'mfa.enabled': 'TOTP turned on',
  'mfa.disabled': 'Second factor turned off',
  'mfa.failed': 'Wrong login code',
  'recovery_code.used': 'Recovery code used',
  'passkey.added': 'Passkey added',
  'passkey.removed': 'Passkey removed',
  'login.passkey': 'Logged in with a passkey',
};

/** An event's detail object as one line of text: `reason: …, until: …` (empty values left out). */
export function detailText(detail) {
  return Object.entries(detail ?? {})
    .filter(([, value]) => value !== null && value !== undefined && value !== '')
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
}

/** What a session is called: its name if it has one, else the device it runs on. */
export function sessionLabel(s) {
  return s.name || s.device || s.user_agent || 'unknown browser';
}

/** Where a session runs: the device (when the name took its place above) and the address. */
export function sessionPlace(s) {
  const device = s.device || s.user_agent || 'unknown browser';
  const parts = s.name ? [device] : [];
  parts.push(s.ip ? `from ${s.ip}` : 'address unknown');
  return parts.join(' · ');
}

/** A user agent, in at most two lines; the whole of it in the tooltip. */
export function userAgent(ua) {
  return ua ? h('span', { class: 'ua', title: ua }, ua) : h('span', { class: 'muted' }, '—');
}

/** Disables `control` while `work` runs, so a double click sends one request. */
export async function busy(control, work) {
  control.disabled = true;
  control.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    control.disabled = false;
    control.removeAttribute('aria-busy');
  }
}

/** A form's fields as a plain object. */
export function fields(form) {
  return Object.fromEntries(new FormData(form));
}

/** The element with this id (the pages' markup defines every id the scripts use). */
export const $ = (id) => document.getElementById(id);
