// "Keep me signed in" in a real browser: a login with the box unticked gets cookies that end
// with the browser, so after Chromium closes and starts again on the same profile the user is
// signed out; with the box ticked (the default) they are still signed in. Run by .ci/browser.sh
// beside e2e.mjs, against the same server.
//
//   SERVER_URL   the server (default http://127.0.0.1:18082)
//   CHROMIUM     the browser (default /usr/bin/chromium, Debian's)

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chromium, request } from 'playwright-core';

const BASE = process.env.SERVER_URL ?? 'http://127.0.0.1:18082';
const TIMEOUT = 10_000;
const profiles = [];

/** Chromium on the profile folder `dir`, as a user starting their browser. */
async function startBrowser(dir) {
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    baseURL: BASE,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(TIMEOUT);
  return { context, page };
}

/** A new account, made over the API. */
async function account(name) {
  const user = { username: `${name}_${Date.now().toString(36)}`, password: 'a long enough password' };
  const api = await request.newContext({ baseURL: BASE });
  const res = await api.post('/api/users', { data: user });
  assert.equal(res.status(), 201, `sign-up: ${await res.text()}`);
  await api.dispose();
  return user;
}

/** Logs in on the page with "Keep me signed in" as `remember`; returns the cookies set. */
async function logIn(page, user, remember) {
  await page.goto('/');
  await page.locator('#who[data-state="out"]').waitFor();
  const form = page.locator('#login-form');
  await form.getByLabel('Username').fill(user.username);
  await form.getByLabel('Password').fill(user.password);
  const box = form.getByLabel('Keep me signed in');
  assert.equal(await box.isChecked(), true, 'ticked by default');
  await box.setChecked(remember);
  const [res] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === '/authenticate'),
    form.getByRole('button', { name: 'Log in' }).click(),
  ]);
  assert.equal(res.status(), 200, await res.text());
  const request = JSON.parse(res.request().postData() ?? '{}');
  assert.equal(request.remember, remember, 'the page sends the box');
  await page.locator('#who-username').filter({ hasText: user.username }).waitFor();
  return page.context().cookies();
}

/** Whether the page, opened afresh, shows the user signed in (and the API agrees). */
async function signedIn(page, user) {
  await page.goto('/');
  const state = page.locator('#who[data-state="in"], #who[data-state="out"]');
  await state.first().waitFor();
  const me = await page.evaluate(() => fetch('/api/me', { credentials: 'same-origin' }).then((r) => r.status));
  const shown = await page.locator('#who').getAttribute('data-state');
  if (shown === 'in') {
    await page.locator('#who-username').filter({ hasText: user.username }).waitFor();
  }
  assert.equal(shown === 'in', me === 200, `the page says ${shown}, /api/me answered ${me}`);
  return me === 200;
}

async function restartAfter(remember) {
  const dir = mkdtempSync(join(tmpdir(), 'jwt-blacklist-profile-'));
  profiles.push(dir);
  const user = await account(remember ? 'kept' : 'shared');
  let { context, page } = await startBrowser(dir);
  const cookies = await logIn(page, user, remember);
  for (const name of ['jwt', 'refresh']) {
    const cookie = cookies.find((c) => c.name === name);
    assert.ok(cookie, `${name} is set`);
    // Playwright reports a cookie without Max-Age/Expires (a session cookie) as expires -1.
    assert.equal(cookie.expires === -1, !remember, `${name}: expires ${cookie.expires}`);
  }
  assert.equal(await signedIn(page, user), true, 'signed in before the restart');
  await context.close();
  ({ context, page } = await startBrowser(dir));
  try {
    return await signedIn(page, user);
  } finally {
    await context.close();
  }
}

test('unticked: closing the browser signs the user out', { timeout: 60_000 }, async () => {
  assert.equal(await restartAfter(false), false, 'signed out after the browser restarted');
});

test('ticked: the user stays signed in across a browser restart', { timeout: 60_000 }, async () => {
  assert.equal(await restartAfter(true), true, 'still signed in after the browser restarted');
});

after(() => {
  for (const dir of profiles) rmSync(dir, { recursive: true, force: true });
});
