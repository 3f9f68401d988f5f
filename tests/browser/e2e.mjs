// The pages / and /admin end to end, in headless Chromium, against a running server
// (.ci/browser.sh starts one on a fresh database). One story, step by step: a step that fails
// skips the rest, saves a screenshot of every open page, and says what it expected and saw.
//
//   SERVER_URL      the server (default http://127.0.0.1:18082)
//   PASSKEY_URL     the same server as a domain, for the passkey steps (default SERVER_URL with
//                   `localhost` for its host): WebAuthn wants a secure context and an RP id that
//                   is a domain, so the server must run with ROCKET_WEBAUTHN_RP_ID=localhost and
//                   ROCKET_WEBAUTHN_ORIGIN set to this URL
//   ADMIN_USER, ADMIN_PASSWORD   an admin account on it
//   CHROMIUM        the browser (default /usr/bin/chromium, Debian's)
//   SCREENSHOTS     where screenshots go (default ci-output/screenshots at the repository root)

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium, request } from 'playwright-core';

const BASE = process.env.SERVER_URL ?? 'http://127.0.0.1:18082';
const PASSKEY_BASE = process.env.PASSKEY_URL ?? Object.assign(new URL(BASE), { hostname: 'localhost' }).origin;
const ADMIN = { username: process.env.ADMIN_USER ?? 'admin', password: process.env.ADMIN_PASSWORD ?? 'ci-admin-password-123' };
const USER = { username: `e2e_${Date.now().toString(36)}`, password: 'a long enough password' };
const SHOTS = process.env.SCREENSHOTS ?? fileURLToPath(new URL('../../ci-output/screenshots', import.meta.url));
const shot = (name) => join(SHOTS, `${name}.png`);
const TIMEOUT = 10_000;
const CSP = "default-src 'self'";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// The second browser says it is Firefox, so that its session shows a device label of its own.
const SECOND_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const SECOND_DEVICE = /Firefox/;
// Text a user controls, shown on the pages: it must stay text (no element, no script).
const SESSION_NAME = 'My <b>laptop</b> & "co"';
const LOCK_REASON = 'Suspicious <script>alert(1)</script> logins';
const PASSKEY_NAME = 'Work <i>laptop</i>';
const PASSKEY_RENAMED = 'Virtual authenticator & "co"';

let browser;
const pages = new Map(); // label -> page, for the failure screenshots
const problems = []; // console errors, CSP violations, page errors, asset failures
let failed = false;

/** A step of the story; after a failure the later ones are skipped. */
function step(name, fn) {
  test(name, { timeout: 60_000 }, async (t) => {
    if (failed) return t.skip('an earlier step failed');
    try {
      await fn();
    } catch (err) {
      failed = true;
      for (const [label, page] of pages) {
        if (!page.isClosed()) await page.screenshot({ path: shot(`failed-${label}`), fullPage: true }).catch(() => {});
      }
      throw err;
    }
  });
}

/** The API's routes: their 4xx answers are expected in this story (Chromium logs each one). */
const isApi = (url) => /^\/(api|authenticate|refresh|blacklist|sessions|audit)(\/|$|\?)/.test(new URL(url).pathname);

/** A new browser context and page, watched for console errors, page errors and asset failures. */
async function openPage(label, options = {}) {
  const context = await browser.newContext({ baseURL: BASE, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('console', (msg) => {
    if (msg.type() !== 'error' && msg.type() !== 'warning') return;
    const url = msg.location()?.url ?? '';
    const apiAnswer = msg.text().startsWith('Failed to load resource') && url && isApi(url);
    if (!apiAnswer) problems.push(`${label}: console ${msg.type()}: ${msg.text()} (${url})`);
  });
  page.on('pageerror', (err) => problems.push(`${label}: page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    // A fetch cut short by a navigation is no fault of the page; a page or asset that fails is.
    if (!isApi(req.url())) problems.push(`${label}: request failed: ${req.url()} ${req.failure()?.errorText}`);
  });
  page.on('response', (res) => {
    const path = new URL(res.url()).pathname;
    if (path === '/' || path === '/admin' || path.startsWith('/assets/')) {
      if (res.status() !== 200) problems.push(`${label}: ${path} answered ${res.status()}`);
      if (res.headers()['content-security-policy'] !== CSP) problems.push(`${label}: ${path} came without the CSP header`);
    }
  });
  pages.set(label, page);
  return page;
}

/** Does `action` and waits for the API answer it causes; checks its status. */
async function answer(page, method, path, status, action) {
  const matches = (res) => {
    const url = new URL(res.url());
    const target = url.pathname + url.search;
    return res.request().method() === method && (path instanceof RegExp ? path.test(target) : url.pathname === path);
  };
  const [res] = await Promise.all([page.waitForResponse(matches, { timeout: TIMEOUT }), action()]);
  const body = await res.text().catch(() => '');
  assert.equal(res.status(), status, `${method} ${path} answered ${res.status()} ${body}, expected ${status}`);
  return body ? JSON.parse(body) : null;
}

/** Waits until `locator` shows `text`; the failure says what it showed instead. */
async function shows(locator, text, what) {
  try {
    await locator.filter({ hasText: text }).first().waitFor({ timeout: TIMEOUT });
  } catch {
    const seen = await locator.allInnerTexts().catch(() => []);
    assert.fail(`${what}: expected ${text}, the page shows ${JSON.stringify(seen)}`);
  }
}

/** RFC 4648 base32 (the TOTP key as the server gives it) to bytes; padding is ignored. */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const char of text.replace(/=+$/, '').toUpperCase()) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${JSON.stringify(text)}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
      value &= (1 << bits) - 1;
    }
  }
  return Buffer.from(bytes);
}

/** The six-digit TOTP code of a base32 key for a 30 s step (RFC 6238 with SHA-1, RFC 4226's truncation). */
function totpAt(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** The TOTP step of this instant (the server runs on this machine: same clock). */
const stepNow = () => Math.floor(Date.now() / 30_000);

/** The status of GET /api/me from inside the page (its cookie, its origin). */
const meStatus = (page) => page.evaluate(() => fetch('/api/me', { credentials: 'same-origin' }).then((r) => r.status));

async function logIn(page, creds) {
  const form = page.locator('#login-form');
  await form.getByLabel('Username').fill(creds.username);
  await form.getByLabel('Password').fill(creds.password);
  await answer(page, 'POST', '/authenticate', 200, () => form.getByRole('button', { name: 'Log in' }).click());
  await shows(page.locator('#who-username'), creds.username, 'who am I after logging in');
}

async function openSignedOut(page) {
  const res = await page.goto('/');
  assert.equal(res.headers()['content-security-policy'], CSP, 'GET / carries the CSP header');
  await page.locator('#who[data-state="out"]').waitFor();
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
});

let user; // the user's page in browser A
let second; // browser B: the same user's second session
let jti; // the id of the token the user logs out
let token; // that token itself, read from the browser's cookie store (as a thief would)

step('a new visitor at / is signed out and sees the forms', async () => {
  user = await openPage('user');
  await openSignedOut(user);
  await shows(user.locator('#who-state'), 'You are signed out', 'who am I without a cookie');
  await user.locator('#login-form').waitFor();
  await user.locator('#signup-form').waitFor();
});

step('signs up through the form, and a taken name shows the server message', async () => {
  const form = user.locator('#signup-form');
  await form.getByLabel('Username').fill(USER.username);
  await form.getByLabel('Password').fill(USER.password);
  await answer(user, 'POST', '/api/users', 201, () => form.getByRole('button', { name: 'Create account' }).click());
  await shows(form.locator('.msg'), `“${USER.username}” created`, 'the sign-up message');

  await form.getByLabel('Username').fill(USER.username);
  await form.getByLabel('Password').fill(USER.password);
  await answer(user, 'POST', '/api/users', 409, () => form.getByRole('button', { name: 'Create account' }).click());
  await shows(form.locator('.msg[data-kind="error"]'), 'that username is already taken', 'the refused sign-up');
});

step('a wrong password shows the server message', async () => {
  const form = user.locator('#login-form');
  await form.getByLabel('Username').fill(USER.username);
  await form.getByLabel('Password').fill('not the password');
  await answer(user, 'POST', '/authenticate', 401, () => form.getByRole('button', { name: 'Log in' }).click());
  await shows(form.locator('.msg[data-kind="error"]'), 'username or password is incorrect', 'the refused login');
});

step('repeated failures are throttled, and the page shows the 429 message', async () => {
  const form = user.locator('#login-form');
  const victim = `${USER.username}_throttled`; // its own name: the real user's budget stays intact
  const statuses = [];
  for (let i = 0; i < 10 && statuses.at(-1) !== 429; i += 1) {
    await form.getByLabel('Username').fill(victim);
    await form.getByLabel('Password').fill('wrong password');
    const [res] = await Promise.all([
      user.waitForResponse((r) => new URL(r.url()).pathname === '/authenticate', { timeout: TIMEOUT }),
      form.getByRole('button', { name: 'Log in' }).click(),
    ]);
    statuses.push(res.status());
    await form.getByRole('button', { name: 'Log in' }).and(user.locator(':enabled')).waitFor();
  }
  assert.equal(statuses.at(-1), 429, `login answers: ${statuses.join(', ')}`);
  await shows(form.locator('.msg[data-kind="error"]'), /too many failed attempts; try again in \d+ s/, 'the 429 message');
});

step('logs in through the form and sees who they are', async () => {
  await logIn(user, USER);
  await shows(user.locator('#who-role'), 'user', 'the role');
  assert.match(await user.locator('#who-jti').innerText(), UUID, 'the token id is a UUID');
  await shows(user.locator('#session-list .session.current'), 'this browser', 'the current session in the list');
});

step('the token cookies are out of reach of the page’s scripts', async () => {
  const visible = await user.evaluate(() => document.cookie);
  assert.doesNotMatch(visible, /(^|;\s*)jwt=/, `document.cookie shows the jwt cookie: ${visible}`);
  assert.doesNotMatch(visible, /(^|;\s*)refresh=/, `document.cookie shows the refresh cookie: ${visible}`);
  const stored = await user.context().cookies();
  const jwt = stored.find((c) => c.name === 'jwt');
  assert.ok(jwt?.httpOnly, 'the browser holds an HttpOnly jwt cookie');
  assert.ok(stored.find((c) => c.name === 'refresh' && c.path === '/refresh')?.httpOnly, 'and an HttpOnly refresh cookie for /refresh');
});

step('a second browser’s session shows in the list, and its End button ends it', async () => {
  second = await openPage('second', { userAgent: SECOND_UA });
  await openSignedOut(second);
  await logIn(second, USER);

  await answer(user, 'GET', '/api/sessions', 200, () => user.locator('#sessions').getByRole('button', { name: 'Reload' }).click());
  const list = user.locator('#session-list .session');
  await shows(list, SECOND_DEVICE, 'the session list');
  assert.equal(await list.count(), 2, 'two sessions are listed');
  await user.screenshot({ path: shot('index-signed-in'), fullPage: true });

  const other = list.filter({ hasText: SECOND_DEVICE });
  assert.equal(await other.locator('.badge').count(), 0, 'the other browser’s session is not marked current');
  await answer(user, 'DELETE', /^\/api\/sessions\/[0-9a-f-]+$/, 204, () => other.getByRole('button', { name: /^End/ }).click());
  await shows(user.locator('#sessions-msg'), 'Session ended', 'the message after ending a session');
  await user.locator('#session-list .session').nth(1).waitFor({ state: 'detached' });
  assert.equal(await user.locator('#session-list .session.current').count(), 1, 'the current session is left');

  assert.equal(await meStatus(second), 401, 'the ended session’s browser is refused');
  await second.reload();
  await shows(second.locator('#who-state'), 'You are signed out', 'the ended session’s page after a reload');
});

step('the Refresh button gets a new token for the same session', async () => {
  const before = await user.locator('#who-jti').innerText();
  await answer(user, 'POST', '/refresh', 200, () => user.getByRole('button', { name: 'Refresh token' }).click());
  await shows(user.locator('#who-msg'), 'New token issued', 'the refresh message');
  await user.waitForFunction((old) => document.getElementById('who-jti').textContent !== old, before);
  assert.equal(await user.locator('#session-list .session').count(), 1, 'still one session');
});

step('a page opened without its access cookie gets one with the refresh cookie', async () => {
  await user.context().clearCookies({ name: 'jwt' });
  await answer(user, 'POST', '/refresh', 200, () => user.reload());
  await user.locator('#who[data-state="in"]').waitFor();
  jti = await user.locator('#who-jti').innerText();
  const me = await user.evaluate(() => fetch('/api/me').then((r) => r.json()));
  assert.equal(me.jti, jti, 'the page shows the token id that /api/me reports');
  token = (await user.context().cookies()).find((c) => c.name === 'jwt')?.value;
  assert.ok(token, 'the refresh set a new jwt cookie');
});

step('logs out with the button: the page shows the signed-out state, the token is refused', async () => {
  await answer(user, 'POST', '/blacklist/logout', 200, () => user.getByRole('button', { name: 'Log out', exact: true }).click());
  await user.locator('#who[data-state="out"]').waitFor();
  await shows(user.locator('#who-state'), 'You are signed out', 'who am I after logging out');
  await shows(user.locator('#who-msg'), 'Logged out', 'the logout message');
  await user.locator('#login-form').waitFor();
  assert.equal(await meStatus(user), 401, 'GET /api/me from the page after logout');
  const replay = await fetch(`${BASE}/api/me`, { headers: { Authorization: `Bearer ${token}` } });
  const body = await replay.json();
  assert.equal(replay.status, 401, 'the logged-out token, replayed, is refused');
  assert.match(body.message, /revoked/, `the replay's answer says why: ${JSON.stringify(body)}`);
  await user.screenshot({ path: shot('index-signed-out'), fullPage: true });
});

step('Log out everywhere ends every session of the user', async () => {
  await logIn(second, USER);
  await logIn(user, USER);
  const ended = await answer(user, 'POST', '/blacklist/logout-all', 200, () => user.getByRole('button', { name: 'Log out everywhere' }).click());
  assert.equal(ended.sessions_ended, 2, 'both sessions ended');
  await shows(user.locator('#who-msg'), '2 sessions ended', 'the logout-everywhere message');
  await user.locator('#who[data-state="out"]').waitFor();
  assert.equal(await meStatus(second), 401, 'the other browser is refused too');
});

step('a user who opens /admin is told that the admin role is needed', async () => {
  await second.goto('/');
  await logIn(second, USER); // this session stays open for the admin to find
  const res = await second.goto('/admin');
  assert.equal(res.headers()['content-security-policy'], CSP, 'GET /admin carries the CSP header');
  await shows(second.locator('#access[data-status="403"]'), 'needs the admin role', 'the 403 notice');
  assert.ok(await second.locator('#admin').isHidden(), 'the admin sections stay hidden');
});

let admin;

step('/admin without a session says to log in at /, with a link', async () => {
  admin = await openPage('admin', { viewport: { width: 1000, height: 800 } });
  const res = await admin.goto('/admin');
  assert.equal(res.headers()['content-security-policy'], CSP, 'GET /admin carries the CSP header');
  await shows(admin.locator('#access[data-status="401"]'), 'log in at /', 'the 401 notice');
  await admin.getByRole('link', { name: 'log in at /' }).click();
  await admin.waitForURL(`${BASE}/`);
});

step('the admin logs in at / and opens /admin from the link', async () => {
  await admin.locator('#who[data-state="out"]').waitFor();
  await logIn(admin, ADMIN);
  await shows(admin.locator('#who-role'), 'admin', 'the admin’s role');
  await answer(admin, 'GET', /^\/blacklist\?/, 200, () => admin.getByRole('link', { name: 'Admin' }).click());
  await admin.locator('#admin').waitFor();
  await shows(admin.locator('#signed-in-as'), ADMIN.username, 'who the admin page says is signed in');
});

step('the blacklist table shows the logged-out token’s id', async () => {
  await shows(admin.locator('#blacklist tbody tr'), jti, 'the blacklist table');
  const row = admin.locator('#blacklist tbody tr', { hasText: jti });
  await shows(row, USER.username, 'the blacklisted token’s row');
  await shows(admin.locator('#page-info'), /^1–\d+ of \d+$/, 'the pager');
});

step('the chart has 24 bars, this day’s revocations among them', async () => {
  const bars = admin.locator('#chart rect.bar');
  assert.equal(await bars.count(), 24, 'one bar per hour');
  const counts = await bars.evaluateAll((rects) => rects.map((r) => [Number(r.dataset.revoked), Number(r.getAttribute('height'))]));
  assert.ok(counts.some(([n, height]) => n > 0 && height > 0), `a non-zero bar: ${JSON.stringify(counts)}`);
  assert.ok(counts.every(([n, height]) => n > 0 === height > 0), `bars are as tall as their counts: ${JSON.stringify(counts)}`);
  const labels = await admin.locator('#chart text.axis').allTextContents();
  assert.ok(labels.includes('now') && labels.includes('0'), `axis labels: ${JSON.stringify(labels)}`);
});

step('the blacklist pages through its rows', async () => {
  // Arrange: one more revoked token, through the API (no page needed for that).
  const api = await request.newContext({ baseURL: BASE });
  assert.equal((await api.post('/authenticate', { data: USER })).status(), 200, 'an extra login');
  assert.equal((await api.post('/blacklist/logout')).status(), 200, 'and its logout');
  await api.dispose();

  await answer(admin, 'GET', '/blacklist', 200, () => admin.goto('/admin?limit=1'));
  await shows(admin.locator('#page-info'), /^1–1 of \d+$/, 'the first page');
  const total = Number((await admin.locator('#page-info').innerText()).split(' of ')[1]);
  assert.ok(total >= 2, `at least two rows: ${total}`);
  const newer = admin.locator('#blacklist-card').getByRole('button', { name: '← Newer' });
  const older = admin.locator('#blacklist-card').getByRole('button', { name: 'Older →' });
  assert.ok(await newer.isDisabled(), 'no newer page on the first');
  await answer(admin, 'GET', /offset=1$/, 200, () => older.click());
  await shows(admin.locator('#page-info'), `2–2 of ${total}`, 'the second page');
  assert.equal(await older.isDisabled(), total === 2, 'an older page exists only with more rows');
  await answer(admin, 'GET', /offset=0$/, 200, () => newer.click());
  await shows(admin.locator('#page-info'), `1–1 of ${total}`, 'back on the first page');
  await answer(admin, 'GET', /^\/blacklist\?/, 200, () => admin.goto('/admin'));
});

step('the admin looks up the user, ends their session, and sees the refusal to demote the last admin', async () => {
  const card = admin.locator('#user-card');
  await card.getByLabel('Username').fill(USER.username);
  await answer(admin, 'GET', /^\/sessions\?username=/, 200, () => card.getByRole('button', { name: 'Look up' }).click());
  await shows(card.locator('#user-name'), '1 live session', 'the looked-up user');
  assert.equal(await card.getByLabel('Role').inputValue(), 'user', 'the looked-up user’s role is shown');
  const session = card.locator('#user-sessions .session');
  await shows(session, SECOND_DEVICE, 'the user’s session');
  await answer(admin, 'DELETE', /^\/sessions\/[0-9a-f-]+$/, 204, () => session.getByRole('button', { name: /^End/ }).click());
  await shows(card.locator('#user-name'), '0 live sessions', 'the user after ending the session');
  assert.equal(await meStatus(second), 401, 'the user’s browser is refused after the admin ended its session');

  await card.getByLabel('Username').fill(ADMIN.username);
  await answer(admin, 'GET', /^\/sessions\?username=/, 200, () => card.getByRole('button', { name: 'Look up' }).click());
  await shows(card.locator('#user-sessions .session.current'), 'your session', 'the admin’s own session, marked');
  assert.equal(await card.getByLabel('Role').inputValue(), 'admin', 'the admin’s own role is known');
  await card.getByLabel('Role', { exact: true }).selectOption('user');
  await answer(admin, 'PATCH', `/api/users/${ADMIN.username}`, 409, () => card.getByRole('button', { name: 'Set role' }).click());
  await shows(card.locator('#role-msg[data-kind="error"]'), /admin/, 'the refusal to demote the last admin');
});

/** A row of the users table, by username. */
const userRow = (username) => admin.locator(`#users tbody tr[data-username="${username}"]`);

/** `YYYY-MM-DDTHH:MM` in local time, as an <input type="datetime-local"> takes it. */
function localInput(date) {
  const two = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}T${two(date.getHours())}:${two(date.getMinutes())}`;
}

step('the users table finds the user by part of their name, and filters by role and status', async () => {
  const card = admin.locator('#users-card');
  await shows(card.locator('#users-info'), /of \d+ users?$/, 'the users pager');
  const part = USER.username.slice(0, -2).toUpperCase(); // a part, in the other case
  await answer(admin, 'GET', new RegExp(`^/api/users\\?q=${part}&`), 200, () => card.getByLabel('Search').fill(part));
  await shows(card.locator('#users-info'), '1–1 of 1 user', 'the search’s pager');
  const row = userRow(USER.username);
  await row.waitFor();
  const cells = await row.locator('td').allInnerTexts();
  assert.equal(cells[0], USER.username, `the username cell: ${JSON.stringify(cells)}`);
  assert.equal(cells[1], 'user', `the role cell: ${JSON.stringify(cells)}`);
  assert.notEqual(cells[3], 'never', `the last login is known: ${JSON.stringify(cells)}`);
  assert.equal(cells[4], 'active', `the status cell: ${JSON.stringify(cells)}`);
  assert.equal(cells[5], '0', `no live session after the admin ended it: ${JSON.stringify(cells)}`);

  await answer(admin, 'GET', /[?&]role=admin&/, 200, () => card.getByLabel('Role', { exact: true }).selectOption('admin'));
  await shows(card.locator('#users tbody td.empty'), 'No user matches', 'the user is not an admin');
  await answer(admin, 'GET', /^\/api\/users\?role=admin&limit=/, 200, async () => {
    await card.getByLabel('Search').fill('');
    await card.getByRole('button', { name: 'Search' }).click();
  });
  await userRow(ADMIN.username).waitFor();
  assert.equal(await card.locator('#users tbody tr').count(), 1, 'only the admin is an admin');

  await card.getByLabel('Role', { exact: true }).selectOption('');
  await answer(admin, 'GET', /[?&]status=locked&/, 200, () => card.getByLabel('Status', { exact: true }).selectOption('locked'));
  await shows(card.locator('#users tbody td.empty'), 'No user matches', 'nobody is locked yet');
  await card.getByLabel('Status', { exact: true }).selectOption('');
  await answer(admin, 'GET', new RegExp(`^/api/users\\?q=${USER.username}&limit`), 200, async () => {
    await card.getByLabel('Search').fill(USER.username);
    await card.getByLabel('Search').press('Enter');
  });
  await row.waitFor();
});

step('the user page shows each session’s device and address, and a name given to one stays after a reload', async () => {
  await logIn(user, USER);
  await openSignedOut(second); // it was left on /admin, its session ended by the admin
  await logIn(second, USER);
  await answer(user, 'GET', '/api/sessions', 200, () => user.locator('#sessions').getByRole('button', { name: 'Reload' }).click());
  const current = user.locator('#session-list .session.current');
  const other = user.locator('#session-list .session:not(.current)');
  await shows(other.locator('.agent'), SECOND_DEVICE, 'the other browser’s device');
  await shows(other.locator('.place'), 'from 127.0.0.1', 'the other browser’s address');
  await shows(current.locator('.place'), 'from 127.0.0.1', 'this browser’s address');
  const device = (await current.locator('.agent').innerText()).replace('this browser', '').trim();
  assert.ok(device && !SECOND_DEVICE.test(device), `this browser’s device: ${device}`);

  // A name of spaces only is refused by the server, and the page says so.
  await current.getByRole('button', { name: /^Rename/ }).click();
  await current.getByLabel('Session name').fill('   ');
  await answer(user, 'PATCH', /^\/api\/sessions\/[0-9a-f-]+$/, 422, () => current.getByRole('button', { name: 'Save' }).click());
  await user.locator('#sessions-msg[data-kind="error"]').waitFor();

  await current.getByLabel('Session name').fill(SESSION_NAME);
  const named = await answer(user, 'PATCH', /^\/api\/sessions\/[0-9a-f-]+$/, 200, () => current.getByRole('button', { name: 'Save' }).click());
  assert.equal(named.name, SESSION_NAME, `the answer: ${JSON.stringify(named)}`);
  await shows(user.locator('#sessions-msg'), 'Session renamed', 'the rename message');
  await shows(current.locator('.agent'), SESSION_NAME, 'the session’s new name');
  await shows(current.locator('.place'), device, 'the device, under the name');

  await answer(user, 'GET', '/api/sessions', 200, () => user.reload());
  await shows(user.locator('#session-list .session.current .agent'), SESSION_NAME, 'the name after a reload');
  assert.equal(await user.locator('#session-list b').count(), 0, 'the name is text, not markup');
  await user.screenshot({ path: shot('index-sessions'), fullPage: true });
});

step('the user page shows the recent security activity, newest first, and older pages', async () => {
  const table = user.locator('#activity-table tbody');
  await table.locator('tr[data-kind]').first().waitFor();
  const first = table.locator('tr').first();
  assert.equal(await first.getAttribute('data-kind'), 'login.succeeded', 'the newest event is the last login');
  await shows(first, 'Logged in', 'the newest event, in words');
  await shows(first, '127.0.0.1', 'the newest event’s address');
  await shows(first, SECOND_DEVICE, 'the newest event’s browser (the second browser logged in last)');
  const kinds = async () => table.locator('tr').evaluateAll((rows) => rows.map((r) => r.dataset.kind));
  const seen = await kinds();
  assert.ok(seen.includes('logout_all') && seen.includes('session.ended'), `the events shown: ${JSON.stringify(seen)}`);
  const ids = await table.locator('tr').evaluateAll((rows) => rows.map((r) => Number(r.dataset.id)));
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');

  const more = user.getByRole('button', { name: 'Show older' });
  assert.ok(await more.isEnabled(), `more than one page of events: ${seen.length} shown`);
  await answer(user, 'GET', /^\/api\/events\?limit=\d+&before=\d+$/, 200, () => more.click());
  await user.waitForFunction((n) => document.querySelectorAll('#activity-table tbody tr').length > n, seen.length);
  const all = await kinds();
  assert.ok(all.includes('login.failed'), `the early wrong password is listed: ${JSON.stringify(all)}`);
  assert.ok(all.includes('user.created'), `and the sign-up: ${JSON.stringify(all)}`);
});

step('the admin sees the user’s sessions from the users table, with device, address and name', async () => {
  const card = admin.locator('#users-card');
  await answer(admin, 'GET', /^\/api\/users\?/, 200, () => card.getByRole('button', { name: 'Reload' }).click());
  assert.equal((await userRow(USER.username).locator('td').allInnerTexts())[5], '2', 'two live sessions');
  await answer(admin, 'GET', /^\/sessions\?username=/, 200, () =>
    userRow(USER.username).getByRole('button', { name: `Sessions and role of ${USER.username}` }).click(),
  );
  const sessions = admin.locator('#user-card #user-sessions .session');
  await shows(admin.locator('#user-name'), '2 live sessions', 'the user card');
  await shows(sessions.locator('.agent'), SESSION_NAME, 'the named session');
  await shows(sessions.locator('.place'), 'from 127.0.0.1', 'the sessions’ address');
  await shows(sessions.locator('.agent'), SECOND_DEVICE, 'the other session’s device');
  assert.equal(await admin.locator('#user-sessions b').count(), 0, 'the name is text, not markup');
});

let lockUntil; // the end of the lock, as typed in the form (to the minute)

step('the admin locks the user with a reason: their sessions end, and the right password is refused as locked', async () => {
  const card = admin.locator('#users-card');
  await userRow(USER.username).getByRole('button', { name: /^Lock/ }).click();
  const form = card.locator('#lock-form');
  await shows(form.locator('h3'), `Lock ${USER.username}`, 'the lock form’s title');
  await form.getByLabel('Reason').fill(LOCK_REASON);
  lockUntil = new Date(Date.now() + 86_400_000);
  lockUntil.setSeconds(0, 0);
  await form.getByLabel(/^Locked until/).fill(localInput(lockUntil));
  const locked = await answer(admin, 'POST', `/api/users/${USER.username}/lock`, 200, () => form.getByRole('button', { name: 'Lock', exact: true }).click());
  assert.equal(locked.username, USER.username, `the answer: ${JSON.stringify(locked)}`);
  assert.equal(locked.sessions_ended, 2, `both sessions ended: ${JSON.stringify(locked)}`);
  assert.equal(Date.parse(locked.locked_until), lockUntil.getTime(), `locked until what the form said: ${JSON.stringify(locked)}`);
  await shows(card.locator('#users-msg'), `${USER.username} is locked until`, 'the lock message');
  await shows(card.locator('#users-msg'), '2 sessions ended', 'the lock message');
  assert.ok(await form.isHidden(), 'the lock form closes');

  const row = admin.locator(`#users tbody tr[data-username="${USER.username}"][data-locked="true"]`);
  await shows(row, 'locked', 'the locked row');
  await shows(row.locator('.reason'), LOCK_REASON, 'the reason, as text');
  assert.equal(await admin.locator('#users script').count(), 0, 'the reason is text, not markup');
  assert.equal((await row.locator('td').allInnerTexts())[5], '0', 'no live session left');
  await shows(admin.locator('#user-name'), '0 live sessions', 'the user card, refreshed');

  assert.equal(await meStatus(user), 401, 'the user’s browser is refused');
  assert.equal(await meStatus(second), 401, 'and the other one');
  await answer(user, 'POST', '/refresh', 401, () => user.reload());
  await user.locator('#who[data-state="out"]').waitFor();

  const login = user.locator('#login-form');
  await login.getByLabel('Username').fill(USER.username);
  await login.getByLabel('Password').fill(USER.password);
  const refused = await answer(user, 'POST', '/authenticate', 403, () => login.getByRole('button', { name: 'Log in' }).click());
  assert.equal(refused.error, 'account_locked', `the refusal: ${JSON.stringify(refused)}`);
  assert.equal(Date.parse(refused.until), lockUntil.getTime(), `the refusal names the end of the lock: ${JSON.stringify(refused)}`);
  await shows(login.locator('.msg[data-kind="error"]'), refused.message, 'the locked message');
  await shows(login.locator('.msg[data-kind="error"]'), 'your time)', 'the end of the lock in local time, on the page');

  await login.getByLabel('Password').fill('not the password');
  await answer(user, 'POST', '/authenticate', 401, () => login.getByRole('button', { name: 'Log in' }).click());
  await shows(login.locator('.msg[data-kind="error"]'), 'username or password is incorrect', 'a wrong password, while locked');

  await answer(admin, 'GET', /[?&]status=locked&/, 200, () => card.getByLabel('Status', { exact: true }).selectOption('locked'));
  await row.waitFor();
  await admin.screenshot({ path: shot('admin-locked'), fullPage: true });
});

step('the admin unlocks the user, and the user logs in again', async () => {
  const card = admin.locator('#users-card');
  await answer(admin, 'POST', `/api/users/${USER.username}/unlock`, 200, () =>
    userRow(USER.username).getByRole('button', { name: `Unlock ${USER.username}` }).click(),
  );
  await shows(card.locator('#users-msg'), `${USER.username} is unlocked`, 'the unlock message');
  await shows(card.locator('#users tbody td.empty'), 'No user matches', 'nobody is locked any more');
  await answer(admin, 'GET', /^\/api\/users\?/, 200, () => card.getByLabel('Status', { exact: true }).selectOption('active'));
  await shows(userRow(USER.username), 'active', 'the unlocked row');
  await logIn(user, USER);
});

step('the audit log shows the story newest first, filters by kind and pages through it', async () => {
  const card = admin.locator('#audit-card');
  await card.getByLabel('Username').fill(USER.username);
  await answer(admin, 'GET', new RegExp(`^/audit\\?username=${USER.username}&limit=`), 200, () => card.getByRole('button', { name: 'Filter', exact: true }).click());
  const rows = card.locator('#audit tbody tr');
  const list = () => rows.evaluateAll((trs) => trs.map((tr) => ({ id: Number(tr.dataset.id), kind: tr.dataset.kind })));
  const events = await list();
  const kinds = events.map((e) => e.kind);
  for (const kind of ['login.succeeded', 'login.failed', 'user.locked', 'user.unlocked']) {
    assert.ok(kinds.includes(kind), `${kind} is listed: ${JSON.stringify(kinds)}`);
  }
  assert.equal(kinds[0], 'login.succeeded', `the newest is the login after the unlock: ${JSON.stringify(kinds)}`);
  assert.deepEqual(events.map((e) => e.id), events.map((e) => e.id).sort((a, b) => b - a), 'newest first');
  const lockRow = rows.filter({ has: admin.locator('td', { hasText: /^user\.locked$/ }) }).first();
  const cells = await lockRow.locator('td').allInnerTexts();
  assert.equal(cells[2], ADMIN.username, `the admin did it: ${JSON.stringify(cells)}`);
  assert.equal(cells[3], USER.username, `to the user: ${JSON.stringify(cells)}`);
  assert.ok(cells[5].includes(LOCK_REASON), `the detail has the reason, as text: ${JSON.stringify(cells)}`);
  assert.equal(await card.locator('script').count(), 0, 'the reason is text, not markup');

  await card.getByLabel('user.locked', { exact: true }).check();
  await card.getByLabel('user.unlocked', { exact: true }).check();
  await answer(admin, 'GET', /[?&]kind=user\.locked&kind=user\.unlocked&/, 200, () => card.getByRole('button', { name: 'Filter', exact: true }).click());
  assert.deepEqual((await list()).map((e) => e.kind), ['user.unlocked', 'user.locked'], 'only the kinds ticked');

  // Since an hour from now: nothing yet. Clear filters: every event again.
  await card.getByLabel('Since').fill(localInput(new Date(Date.now() + 3_600_000)));
  await answer(admin, 'GET', /[?&]since=[^&]+&limit=/, 200, () => card.getByRole('button', { name: 'Filter', exact: true }).click());
  await shows(card.locator('#audit tbody td.empty'), 'No event matches', 'events since an hour from now');
  await answer(admin, 'GET', /^\/audit\?limit=\d+$/, 200, () => card.getByRole('button', { name: 'Clear filters' }).click());
  assert.ok((await list()).length > 2, 'every event after the filters are cleared');

  // A page of 3 events: "Older" asks for those before the last shown, "Newer" comes back.
  await answer(admin, 'GET', /^\/audit\?limit=3$/, 200, () => admin.goto('/admin?limit=3'));
  await card.getByLabel('Username').fill(USER.username);
  await answer(admin, 'GET', /&limit=3$/, 200, () => card.getByRole('button', { name: 'Filter', exact: true }).click());
  const firstPage = await list();
  assert.equal(firstPage.length, 3, `a full first page: ${JSON.stringify(firstPage)}`);
  const older = card.getByRole('button', { name: 'Older →' });
  const newer = card.getByRole('button', { name: '← Newer' });
  assert.ok(await newer.isDisabled(), 'no newer page on the first');
  await answer(admin, 'GET', new RegExp(`&limit=3&before=${firstPage[2].id}$`), 200, () => older.click());
  await shows(card.locator('#audit-info'), 'page 2', 'the second page');
  const secondPage = await list();
  assert.ok(secondPage.length > 0 && secondPage.every((e) => e.id < firstPage[2].id), `older events: ${JSON.stringify(secondPage)}`);
  await answer(admin, 'GET', /&limit=3$/, 200, () => newer.click());
  await shows(card.locator('#audit-info'), 'page 1', 'back on the first page');
  assert.deepEqual(await list(), firstPage, 'the same first page');
  await answer(admin, 'GET', /^\/blacklist\?/, 200, () => admin.goto('/admin'));
});

step('the admin makes the user an admin', async () => {
  const card = admin.locator('#user-card');
  await card.getByLabel('Username').fill(USER.username);
  await answer(admin, 'GET', /^\/sessions\?username=/, 200, () => card.getByRole('button', { name: 'Look up' }).click());
  await shows(card.locator('#user-name'), USER.username, 'the looked-up user');
  await card.getByLabel('Role', { exact: true }).selectOption('admin');
  const changed = await answer(admin, 'PATCH', `/api/users/${USER.username}`, 200, () => card.getByRole('button', { name: 'Set role' }).click());
  assert.equal(changed.role, 'admin', 'the answer carries the new role');
  await shows(card.locator('#role-msg'), `${USER.username} is now admin`, 'the role message');
});

step('the purge button purges and says how many rows went', async () => {
  const purged = await answer(admin, 'POST', '/blacklist/purge', 200, () => admin.getByRole('button', { name: 'Purge expired rows' }).click());
  assert.equal(typeof purged.purged, 'number', `the purge answer: ${JSON.stringify(purged)}`);
  await shows(admin.locator('#blacklist-msg'), `Purged ${purged.purged} expired`, 'the purge message');
  await shows(admin.locator('#blacklist tbody tr'), jti, 'the live row stays after the purge');
  await admin.screenshot({ path: shot('admin'), fullPage: true });
});

// ---- TOTP, the second factor: enrolment on /, the code step at login, recovery codes, off ----

let totpSecret; // the user's TOTP key (base32), as the enrolment answered it
let confirmStep; // the step whose code confirmed the enrolment: the server counts it as used
let recoveryCodes; // the codes shown at the enrolment
const mfaCard = () => user.locator('#mfa');

/** Clicks the download link and checks the file: recovery-codes.txt, one line per code. */
async function downloadsCodes(page, codes) {
  const link = page.locator('#mfa').getByRole('link', { name: 'Download as text' });
  assert.equal(await link.getAttribute('download'), 'recovery-codes.txt', 'the link names the file');
  assert.match((await link.getAttribute('href')) ?? '', /^blob:/, 'the file is a Blob of the page');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: TIMEOUT }), link.click()]);
  assert.equal(download.suggestedFilename(), 'recovery-codes.txt', 'the file’s name');
  assert.equal(await download.failure(), null, 'the download completed');
  const lines = (await readFile(await download.path(), 'utf8')).split('\n');
  for (const code of codes) assert.ok(lines.includes(code), `the file lists ${code}: ${JSON.stringify(lines)}`);
}

/** The codes the page lists, in order. */
const listedCodes = (page) => page.locator('#recovery-list li').allInnerTexts();

/** Username and password in the login form, for an account with TOTP: the page asks for a code. */
async function passwordStep(page, creds) {
  const form = page.locator('#login-form');
  await form.getByLabel('Username').fill(creds.username);
  await form.getByLabel('Password').fill(creds.password);
  const challenge = await answer(page, 'POST', '/authenticate', 200, () => form.getByRole('button', { name: 'Log in' }).click());
  assert.equal(challenge.mfa_required, true, `the password step's answer: ${JSON.stringify(challenge)}`);
  assert.deepEqual(challenge.methods, ['totp', 'recovery_code'], 'the second step takes a TOTP or a recovery code');
  await page.locator('#login-mfa-form').getByLabel('Code from your authenticator app').waitFor();
  assert.ok(await form.isHidden(), 'the password form gives way to the code');
}

async function logOut(page) {
  await answer(page, 'POST', '/blacklist/logout', 200, () => page.getByRole('button', { name: 'Log out', exact: true }).click());
  await page.locator('#who[data-state="out"]').waitFor();
}

step('the user turns TOTP on: a QR code and the key, a code from it, then ten recovery codes to download', async () => {
  // The test's own TOTP against RFC 6238's SHA-1 vectors (T = 59 s and 1111111109 s, last 6 digits).
  const rfcKey = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'; // "12345678901234567890"
  assert.equal(totpAt(rfcKey, 1), '287082', 'RFC 6238 at T = 59');
  assert.equal(totpAt(rfcKey, Math.floor(1111111109 / 30)), '081804', 'RFC 6238 at T = 1111111109');

  await openSignedOut(user); // the role change ended the user's sessions
  await logIn(user, USER);
  const card = mfaCard();
  await shows(card.locator('#mfa-state[data-totp="off"]'), 'TOTP is off', 'the second factor before enrolment');
  assert.ok(await card.getByRole('button', { name: 'Turn off TOTP…' }).isHidden(), 'nothing to turn off');

  const enrolment = await answer(user, 'POST', '/api/mfa/totp', 200, () => card.getByRole('button', { name: 'Turn on TOTP' }).click());
  totpSecret = enrolment.secret;
  assert.match(totpSecret, /^[A-Z2-7]{32}$/, `a 160-bit base32 key: ${totpSecret}`);
  assert.ok(enrolment.otpauth_uri.includes(`secret=${totpSecret}`), `the URI carries the key: ${enrolment.otpauth_uri}`);
  const qr = card.getByRole('img', { name: 'QR code of your new TOTP key' }).locator('svg');
  await qr.waitFor({ state: 'visible' });
  const box = await qr.boundingBox();
  assert.ok(box && box.width >= 100 && box.height >= 100, `the QR code is drawn, not a dot: ${JSON.stringify(box)}`);
  assert.ok((await qr.locator('path').getAttribute('d'))?.length > 100, 'the QR code has its modules');
  const shownKey = (await card.locator('#totp-secret').innerText()).replace(/\s/g, '');
  assert.equal(shownKey, totpSecret, 'the key is shown as text too, for typing into an app');
  await user.screenshot({ path: shot('index-totp-enrol'), fullPage: true });

  const code = card.getByLabel('Code from the app');
  await code.fill(totpAt(totpSecret, stepNow() + 5)); // a real code of the key, but minutes away
  const refused = await answer(user, 'POST', '/api/mfa/totp/confirm', 401, () => card.getByRole('button', { name: 'Turn on', exact: true }).click());
  assert.equal(refused.error, 'invalid_code', `a code far from now: ${JSON.stringify(refused)}`);
  await shows(card.locator('#totp-confirm-form .msg[data-kind="error"]'), 'the code is wrong', 'the refused code');

  confirmStep = stepNow();
  await code.fill(totpAt(totpSecret, confirmStep));
  const confirmed = await answer(user, 'POST', '/api/mfa/totp/confirm', 200, () => card.getByRole('button', { name: 'Turn on', exact: true }).click());
  recoveryCodes = confirmed.recovery_codes;
  assert.equal(recoveryCodes.length, 10, `ten recovery codes: ${JSON.stringify(confirmed)}`);
  await shows(card.locator('#mfa-msg'), 'TOTP is on', 'the message after confirming');
  await shows(card.locator('#mfa-state[data-totp="on"]'), '10 recovery codes left', 'the second factor after enrolment');
  assert.ok(await card.locator('#totp-enrol').isHidden(), 'the QR code and key are gone');
  assert.equal(await card.locator('#totp-qr svg').count(), 0, 'the QR code is removed from the page');
  assert.deepEqual(await listedCodes(user), recoveryCodes, 'the page lists the ten codes');
  await downloadsCodes(user, recoveryCodes);
  await user.screenshot({ path: shot('index-recovery-codes'), fullPage: true });

  await card.getByRole('button', { name: 'I have saved them' }).click();
  assert.equal(await card.locator('#recovery-list li').count(), 0, 'the codes are shown once');
  await answer(user, 'GET', '/api/mfa', 200, () => user.reload());
  await shows(card.locator('#mfa-state'), 'TOTP is on', 'the second factor after a reload');
  assert.ok(await card.locator('#recovery-codes').isHidden(), 'no codes after a reload');
});

step('with TOTP on, the password alone starts no session; a wrong or used code is refused, the next one logs in', async () => {
  await logOut(user);
  await passwordStep(user, USER);
  const form = user.locator('#login-mfa-form');
  const mfaCookie = (await user.context().cookies()).find((c) => c.name === 'mfa');
  assert.ok(mfaCookie?.httpOnly && mfaCookie.path === '/authenticate', `an HttpOnly mfa cookie for /authenticate: ${JSON.stringify(mfaCookie)}`);
  assert.equal((await user.context().cookies()).find((c) => c.name === 'jwt'), undefined, 'no jwt cookie before the code');
  assert.equal(await meStatus(user), 401, 'no session before the code');
  await shows(user.locator('#who-state'), 'You are signed out', 'who am I during the code step');

  // The code step already used (the confirmation) and, below, the next one: a wrong code is
  // one that matches none of the steps around now.
  const near = new Set([-2, -1, 0, 1, 2, 3].map((d) => totpAt(totpSecret, stepNow() + d)));
  let wrong = 0;
  while (near.has(String(wrong).padStart(6, '0'))) wrong += 1;
  await form.getByLabel('Code from your authenticator app').fill(String(wrong).padStart(6, '0'));
  const refused = await answer(user, 'POST', '/authenticate/mfa', 401, () => form.getByRole('button', { name: 'Verify' }).click());
  assert.equal(refused.error, 'invalid_code', `a wrong code: ${JSON.stringify(refused)}`);
  await shows(form.locator('.msg[data-kind="error"]'), 'the code is wrong or was already used', 'the refused code');
  assert.equal(await meStatus(user), 401, 'still no session');
  await user.screenshot({ path: shot('index-login-code'), fullPage: true });

  // The confirmation used its step's code: that code is refused from now on, even within the skew.
  await form.getByLabel('Code from your authenticator app').fill(totpAt(totpSecret, confirmStep));
  const reused = await answer(user, 'POST', '/authenticate/mfa', 401, () => form.getByRole('button', { name: 'Verify' }).click());
  assert.equal(reused.error, 'invalid_code', `the confirmation's code, again: ${JSON.stringify(reused)}`);

  // So the first login takes the NEXT step's code: the server accepts it as one step of clock
  // skew ahead (or as the current step, once 30 s have passed since the confirmation).
  await form.getByLabel('Code from your authenticator app').fill(totpAt(totpSecret, confirmStep + 1));
  const me = await answer(user, 'POST', '/authenticate/mfa', 200, () => form.getByRole('button', { name: 'Verify' }).click());
  assert.equal(me.username, USER.username, `the login's answer: ${JSON.stringify(me)}`);
  await shows(user.locator('#who-username'), USER.username, 'who am I after the code');
  await shows(user.locator('#mfa-state'), 'TOTP is on', 'the second factor, signed in');
  assert.equal(await meStatus(user), 200, 'a session after the code');
  assert.equal((await user.context().cookies()).find((c) => c.name === 'mfa'), undefined, 'the mfa cookie is cleared');
  assert.ok(await form.isHidden(), 'the code form is put away');
});

step('a code step whose challenge is gone sends the page back to the password form, saying why', async () => {
  await logOut(user);
  await passwordStep(user, USER);
  await user.context().clearCookies({ name: 'mfa' }); // as after five minutes, or five wrong codes
  const form = user.locator('#login-mfa-form');
  await form.getByLabel('Code from your authenticator app').fill(totpAt(totpSecret, stepNow()));
  const gone = await answer(user, 'POST', '/authenticate/mfa', 401, () => form.getByRole('button', { name: 'Verify' }).click());
  assert.equal(gone.error, 'mfa_challenge_invalid', `the answer: ${JSON.stringify(gone)}`);
  const login = user.locator('#login-form');
  await shows(login.locator('.msg[data-kind="error"]'), 'log in again with your password', 'the message on the password form');
  assert.ok(await form.isHidden(), 'the code form is put away');
  assert.equal(await login.getByLabel('Username').inputValue(), USER.username, 'the username is kept');
});

step('a recovery code logs in instead of a TOTP code', async () => {
  await passwordStep(user, USER);
  const form = user.locator('#login-mfa-form');
  await form.getByRole('button', { name: 'Use a recovery code instead' }).click();
  assert.ok(await form.getByLabel('Code from your authenticator app').isHidden(), 'the TOTP field gives way');
  // Typed in capitals, as a user reading it aloud might: the server takes any case.
  await form.getByLabel('Recovery code').fill(recoveryCodes[0].toUpperCase());
  await user.screenshot({ path: shot('index-login-recovery-code'), fullPage: true });
  const [res] = await Promise.all([
    user.waitForResponse((r) => new URL(r.url()).pathname === '/authenticate/mfa', { timeout: TIMEOUT }),
    form.getByRole('button', { name: 'Verify' }).click(),
  ]);
  assert.equal(res.status(), 200, `the recovery code's answer: ${await res.text()}`);
  assert.deepEqual(JSON.parse(res.request().postData()), { recovery_code: recoveryCodes[0].toUpperCase() }, 'only the recovery code is sent');
  await shows(user.locator('#who-username'), USER.username, 'who am I after the recovery code');
  await shows(user.locator('#mfa-state'), '9 recovery codes left', 'one code spent');
});

step('new recovery codes ask for the password and are shown once to download; the old ones stop working', async () => {
  const card = mfaCard();
  await card.getByRole('button', { name: 'New recovery codes…' }).click();
  const form = card.locator('#recovery-form');
  await form.getByLabel('Current password').fill('not the password');
  await answer(user, 'POST', '/api/mfa/recovery-codes', 401, () => form.getByRole('button', { name: 'Get new codes' }).click());
  await shows(form.locator('.msg[data-kind="error"]'), 'password is incorrect', 'the refused password');
  await form.getByLabel('Current password').fill(USER.password);
  const renewed = await answer(user, 'POST', '/api/mfa/recovery-codes', 200, () => form.getByRole('button', { name: 'Get new codes' }).click());
  const fresh = renewed.recovery_codes;
  assert.equal(fresh.length, 10, `ten new codes: ${JSON.stringify(renewed)}`);
  assert.ok(await form.isHidden(), 'the password form closes');
  assert.deepEqual(await listedCodes(user), fresh, 'the page lists the new codes');
  await shows(card.locator('#mfa-state'), '10 recovery codes left', 'a full set again');
  await downloadsCodes(user, fresh);
  await user.screenshot({ path: shot('index-totp-on'), fullPage: true });

  await logOut(user);
  assert.ok(await card.locator('#recovery-codes').isHidden(), 'the codes go with the session');
  assert.equal(await user.locator('#recovery-list li').count(), 0, 'and leave the page');
  await passwordStep(user, USER);
  const step2 = user.locator('#login-mfa-form');
  await step2.getByRole('button', { name: 'Use a recovery code instead' }).click();
  await step2.getByLabel('Recovery code').fill(recoveryCodes[1]);
  await answer(user, 'POST', '/authenticate/mfa', 401, () => step2.getByRole('button', { name: 'Verify' }).click());
  await shows(step2.locator('.msg[data-kind="error"]'), 'the code is wrong or was already used', 'an old recovery code');
  await step2.getByLabel('Recovery code').fill(fresh[0]);
  await answer(user, 'POST', '/authenticate/mfa', 200, () => step2.getByRole('button', { name: 'Verify' }).click());
  await shows(user.locator('#who-username'), USER.username, 'who am I after a new recovery code');
});

step('turning TOTP off asks for the password; then the password alone logs in', async () => {
  const card = mfaCard();
  await card.getByRole('button', { name: 'Turn off TOTP…' }).click();
  const form = card.locator('#totp-off-form');
  await form.getByLabel('Current password').fill('not the password');
  await answer(user, 'DELETE', '/api/mfa/totp', 401, () => form.getByRole('button', { name: 'Turn off', exact: true }).click());
  await shows(form.locator('.msg[data-kind="error"]'), 'password is incorrect', 'the refused password');
  assert.equal(await meStatus(user), 200, 'a wrong password here does not end the session');
  await form.getByLabel('Current password').fill(USER.password);
  await answer(user, 'DELETE', '/api/mfa/totp', 204, () => form.getByRole('button', { name: 'Turn off', exact: true }).click());
  await shows(card.locator('#mfa-msg'), 'TOTP is off', 'the message after turning it off');
  await shows(card.locator('#mfa-state[data-totp="off"]'), 'TOTP is off', 'the second factor after turning it off');
  await card.getByRole('button', { name: 'Turn on TOTP' }).waitFor();

  await answer(user, 'GET', /^\/api\/events\?/, 200, () => user.locator('#activity').getByRole('button', { name: 'Reload' }).click());
  const kinds = await user.locator('#activity-table tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.kind));
  for (const kind of ['mfa.disabled', 'recovery_code.used', 'mfa.failed']) {
    assert.ok(kinds.includes(kind), `${kind} is in the activity: ${JSON.stringify(kinds)}`);
  }
  await shows(user.locator('#activity-table tbody tr[data-kind="mfa.disabled"]'), 'Second factor turned off', 'the event in words');
  await user.screenshot({ path: shot('index-totp-off'), fullPage: true });

  await logOut(user);
  await logIn(user, USER); // no code step
  assert.ok(await user.locator('#login-mfa-form').isHidden(), 'no code was asked');
});

// ---- Passkeys: added on /, a login with a passkey alone, a passkey as the second step, removed ----
// On PASSKEY_BASE (localhost), in a browser context of its own with a virtual authenticator
// (Chromium's DevTools protocol): it makes and signs with real keys, and says yes by itself.

let keys; // the user's page on localhost
let authenticator; // { cdp, authenticatorId }
const passkeysCard = () => keys.locator('#passkeys');

/** The credentials the virtual authenticator holds. */
async function heldCredentials() {
  const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator.authenticatorId });
  return credentials;
}

step('on localhost, the user adds a named passkey: the authenticator makes it and the list shows it', async () => {
  keys = await openPage('passkeys', { baseURL: PASSKEY_BASE });
  const cdp = await keys.context().newCDPSession(keys);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  authenticator = { cdp, authenticatorId };

  await openSignedOut(keys);
  assert.equal(await keys.evaluate(() => window.isSecureContext), true, `${PASSKEY_BASE} is a secure context`);
  await logIn(keys, USER);
  const card = passkeysCard();
  await shows(card.locator('#passkey-list .empty'), 'No passkeys yet', 'the passkeys before one is added');

  await card.getByRole('button', { name: 'Add a passkey' }).click();
  const form = card.locator('#passkey-add-form');
  await form.getByLabel('Passkey name').fill('   ');
  await form.getByRole('button', { name: 'Create passkey' }).click();
  await shows(form.locator('.msg[data-kind="error"]'), 'give the passkey a name', 'a name of spaces, refused before the prompt');
  assert.equal((await heldCredentials()).length, 0, 'no passkey was made for a refused name');

  await form.getByLabel('Passkey name').fill(PASSKEY_NAME);
  const added = await answer(keys, 'POST', '/api/passkeys/register/finish', 201, () => form.getByRole('button', { name: 'Create passkey' }).click());
  assert.equal(added.name, PASSKEY_NAME, `the answer: ${JSON.stringify(added)}`);
  const held = await heldCredentials();
  assert.equal(held.length, 1, `the authenticator holds one passkey: ${JSON.stringify(held)}`);
  assert.ok(held[0].isResidentCredential, 'a discoverable one, for a login without a username');
  await shows(card.locator('#passkeys-msg'), `Passkey “${PASSKEY_NAME}” added`, 'the message after adding');
  assert.ok(await form.isHidden(), 'the form closes');
  const item = card.locator('#passkey-list .passkey');
  await shows(item.locator('.agent'), PASSKEY_NAME, 'the new passkey in the list');
  await shows(item, 'created', 'when it was made');
  assert.equal(await card.locator('#passkey-list i').count(), 0, 'the name is text, not markup');
  await shows(keys.locator('#mfa-state'), 'ask for one of your passkeys after your password', 'the second factor, with a passkey');
  await keys.screenshot({ path: shot('index-passkey-added'), fullPage: true });
});

step('the passkey is renamed in place, and the name stays after a reload', async () => {
  const item = passkeysCard().locator('#passkey-list .passkey');
  await item.getByRole('button', { name: /^Rename/ }).click();
  await item.getByLabel('Passkey name').fill(' '.repeat(3));
  await answer(keys, 'PATCH', /^\/api\/passkeys\/[^/]+$/, 422, () => item.getByRole('button', { name: 'Save' }).click());
  await keys.locator('#passkeys-msg[data-kind="error"]').waitFor();

  await item.getByLabel('Passkey name').fill(PASSKEY_RENAMED);
  const named = await answer(keys, 'PATCH', /^\/api\/passkeys\/[^/]+$/, 200, () => item.getByRole('button', { name: 'Save' }).click());
  assert.equal(named.name, PASSKEY_RENAMED, `the answer: ${JSON.stringify(named)}`);
  await shows(keys.locator('#passkeys-msg'), 'Passkey renamed', 'the rename message');
  await shows(item.locator('.agent'), PASSKEY_RENAMED, 'the new name');
  await answer(keys, 'GET', '/api/passkeys', 200, () => keys.reload());
  await shows(passkeysCard().locator('#passkey-list .passkey .agent'), PASSKEY_RENAMED, 'the name after a reload');
});

step('signed out, “Sign in with a passkey” logs in without a username or a password', async () => {
  await logOut(keys);
  const form = keys.locator('#login-form');
  const me = await answer(keys, 'POST', '/authenticate/passkey/finish', 200, () => form.getByRole('button', { name: 'Sign in with a passkey' }).click());
  assert.equal(me.username, USER.username, `the login's answer: ${JSON.stringify(me)}`);
  await shows(keys.locator('#who-username'), USER.username, 'who am I after the passkey');
  assert.equal(await meStatus(keys), 200, 'a session');
  const cookies = await keys.context().cookies();
  assert.ok(cookies.find((c) => c.name === 'jwt')?.httpOnly, 'an HttpOnly jwt cookie');
  assert.ok(cookies.find((c) => c.name === 'refresh' && c.path === '/refresh'), 'and a refresh cookie');
  const item = passkeysCard().locator('#passkey-list .passkey');
  await shows(item.locator('.agent'), PASSKEY_RENAMED, 'the passkey, signed in with it');
  assert.doesNotMatch(await item.innerText(), /last used never/, 'its last use is known');
});

step('the password alone now stops at the second step, and “Use a passkey” passes it', async () => {
  await logOut(keys);
  const form = keys.locator('#login-form');
  await form.getByLabel('Username').fill(USER.username);
  await form.getByLabel('Password').fill(USER.password);
  const challenge = await answer(keys, 'POST', '/authenticate', 200, () => form.getByRole('button', { name: 'Log in' }).click());
  assert.equal(challenge.mfa_required, true, `the password step's answer: ${JSON.stringify(challenge)}`);
  assert.deepEqual(challenge.methods, ['passkey'], 'a passkey is the one second step');
  const step2 = keys.locator('#login-mfa-form');
  const use = step2.getByRole('button', { name: 'Use a passkey' });
  await use.waitFor();
  assert.ok(await step2.getByLabel('Code from your authenticator app').isHidden(), 'no code is asked for');
  assert.ok(await step2.getByRole('button', { name: 'Verify' }).isHidden(), 'nor verified');
  assert.ok(await form.isHidden(), 'the password form gives way');
  assert.equal(await meStatus(keys), 401, 'no session before the passkey');
  await keys.screenshot({ path: shot('index-login-passkey-step'), fullPage: true });

  const me = await answer(keys, 'POST', '/authenticate/mfa/passkey/finish', 200, () => use.click());
  assert.equal(me.username, USER.username, `the second step's answer: ${JSON.stringify(me)}`);
  await shows(keys.locator('#who-username'), USER.username, 'who am I after the passkey');
  assert.equal(await meStatus(keys), 200, 'a session after the passkey');
  assert.equal((await keys.context().cookies()).find((c) => c.name === 'mfa'), undefined, 'the mfa cookie is cleared');
  assert.ok(await step2.isHidden(), 'the second step is put away');
});

step('removing the passkey asks for the password; then the list is empty, the activity lists the passkey events, and the passkey logs in no more', async () => {
  const card = passkeysCard();
  await card.locator('#passkey-list .passkey').getByRole('button', { name: /^Remove/ }).click();
  const form = card.locator('#passkey-remove-form');
  await shows(form.locator('h3'), PASSKEY_RENAMED, 'the remove form names the passkey');
  await form.getByLabel('Current password').fill('not the password');
  const refused = await answer(keys, 'DELETE', /^\/api\/passkeys\/[^/]+$/, 401, () => form.getByRole('button', { name: 'Remove' }).click());
  assert.equal(refused.error, 'invalid_credentials', `a wrong password: ${JSON.stringify(refused)}`);
  await shows(form.locator('.msg[data-kind="error"]'), 'password is incorrect', 'the refused password');
  assert.equal(await meStatus(keys), 200, 'a wrong password here does not end the session');

  await form.getByLabel('Current password').fill(USER.password);
  await answer(keys, 'DELETE', /^\/api\/passkeys\/[^/]+$/, 204, () => form.getByRole('button', { name: 'Remove' }).click());
  await shows(card.locator('#passkeys-msg'), `Passkey “${PASSKEY_RENAMED}” removed`, 'the message after removing');
  assert.ok(await form.isHidden(), 'the form closes');
  await shows(card.locator('#passkey-list .empty'), 'No passkeys yet', 'the list after removing');
  assert.equal(await card.locator('#passkey-list .passkey').count(), 0, 'no passkey is listed');
  await shows(keys.locator('#mfa-state'), 'logins ask for your password only', 'the second factor without a passkey');

  await answer(keys, 'GET', /^\/api\/events\?/, 200, () => keys.locator('#activity').getByRole('button', { name: 'Reload' }).click());
  const kinds = await keys.locator('#activity-table tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.kind));
  for (const kind of ['passkey.added', 'login.passkey', 'passkey.removed']) {
    assert.ok(kinds.includes(kind), `${kind} is in the activity: ${JSON.stringify(kinds)}`);
  }
  await shows(keys.locator('#activity-table tbody tr[data-kind="login.passkey"]'), 'Logged in with a passkey', 'the event in words');
  await shows(keys.locator('#activity-table tbody tr[data-kind="passkey.removed"]'), 'Passkey removed', 'the event in words');
  await keys.screenshot({ path: shot('index-passkey-removed'), fullPage: true });

  // The authenticator still holds its key; the server no longer knows it.
  await logOut(keys);
  const login = keys.locator('#login-form');
  await answer(keys, 'POST', '/authenticate/passkey/finish', 401, () => login.getByRole('button', { name: 'Sign in with a passkey' }).click());
  await login.locator('.msg[data-kind="error"]').waitFor();
  assert.equal(await meStatus(keys), 401, 'no session from a removed passkey');
  await logIn(keys, USER); // the password alone, no second step
  assert.ok(await keys.locator('#login-mfa-form').isHidden(), 'no second step was asked');
});

step('no page logged a CSP violation, a JS error or a failed asset', async () => {
  assert.ok(problems.length === 0, `${problems.length} problems seen:\n${problems.join('\n')}`);
});
