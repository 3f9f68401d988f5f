// The pages / and /admin end to end, in headless Chromium, against a running server
// (.ci/browser.sh starts one on a fresh database). One story, step by step: a step that fails
// skips the rest, saves a screenshot of every open page, and says what it expected and saw.
//
//   SERVER_URL      the server (default http://127.0.0.1:18082)
//   ADMIN_USER, ADMIN_PASSWORD   an admin account on it
//   CHROMIUM        the browser (default /usr/bin/chromium, Debian's)
//   SCREENSHOTS     where screenshots go (default ci-output/screenshots at the repository root)

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium, request } from 'playwright-core';

const BASE = process.env.SERVER_URL ?? 'http://127.0.0.1:18082';
const ADMIN = { username: process.env.ADMIN_USER ?? 'admin', password: process.env.ADMIN_PASSWORD ?? 'ci-admin-password-123' };
const USER = { username: `e2e_${Date.now().toString(36)}`, password: 'a long enough password' };
const SHOTS = process.env.SCREENSHOTS ?? fileURLToPath(new URL('../../ci-output/screenshots', import.meta.url));
const shot = (name) => join(SHOTS, `${name}.png`);
const TIMEOUT = 10_000;
const CSP = "default-src 'self'";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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
const isApi = (url) => /^\/(api|authenticate|refresh|blacklist|sessions)(\/|$|\?)/.test(new URL(url).pathname);

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
  second = await openPage('second', { userAgent: 'e2e-second-browser' });
  await openSignedOut(second);
  await logIn(second, USER);

  await answer(user, 'GET', '/api/sessions', 200, () => user.getByRole('button', { name: 'Reload' }).click());
  const list = user.locator('#session-list .session');
  await shows(list, 'e2e-second-browser', 'the session list');
  assert.equal(await list.count(), 2, 'two sessions are listed');
  await user.screenshot({ path: shot('index-signed-in'), fullPage: true });

  const other = list.filter({ hasText: 'e2e-second-browser' });
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
  const newer = admin.getByRole('button', { name: '← Newer' });
  const older = admin.getByRole('button', { name: 'Older →' });
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
  await shows(session, 'e2e-second-browser', 'the user’s session');
  await answer(admin, 'DELETE', /^\/sessions\/[0-9a-f-]+$/, 204, () => session.getByRole('button', { name: /^End/ }).click());
  await shows(card.locator('#user-name'), '0 live sessions', 'the user after ending the session');
  assert.equal(await meStatus(second), 401, 'the user’s browser is refused after the admin ended its session');

  await card.getByLabel('Username').fill(ADMIN.username);
  await answer(admin, 'GET', /^\/sessions\?username=/, 200, () => card.getByRole('button', { name: 'Look up' }).click());
  await shows(card.locator('#user-sessions .session.current'), 'your session', 'the admin’s own session, marked');
  assert.equal(await card.getByLabel('Role').inputValue(), 'admin', 'the admin’s own role is known');
  await card.getByLabel('Role').selectOption('user');
  await answer(admin, 'PATCH', `/api/users/${ADMIN.username}`, 409, () => card.getByRole('button', { name: 'Set role' }).click());
  await shows(card.locator('#role-msg[data-kind="error"]'), /admin/, 'the refusal to demote the last admin');
});

step('the admin makes the user an admin', async () => {
  const card = admin.locator('#user-card');
  await card.getByLabel('Username').fill(USER.username);
  await answer(admin, 'GET', /^\/sessions\?username=/, 200, () => card.getByRole('button', { name: 'Look up' }).click());
  await shows(card.locator('#user-name'), USER.username, 'the looked-up user');
  await card.getByLabel('Role').selectOption('admin');
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

step('no page logged a CSP violation, a JS error or a failed asset', async () => {
  assert.ok(problems.length === 0, `${problems.length} problems seen:\n${problems.join('\n')}`);
});
