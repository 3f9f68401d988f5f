// The user's page (/): sign up, log in (with a TOTP or recovery code or a passkey after the
// password when the account has a second factor, or with a passkey alone), who am I, refresh,
// log out (here or everywhere), the list of one's sessions (device, address, a name one may give
// each, a button to end each), and one's recent security activity. The cards of one's second
// factor and passkeys are in factors.js; the form helpers they share with this file in forms.js.

import {
  $, KINDS, api, assertionJson, busy, count, detailText, fromNow, h, local, passkeysAvailable, query,
  refresh, requestOptions, say, sayError, sessionLabel, sessionPlace, userAgent, when,
} from './common.js';
import {
  account, ceremony, closeMfaPanels, closePasskeyPanels, loadMfa, loadPasskeys,
} from './factors.js';
import { form, renameInPlace } from './forms.js';

const who = $('who');
// The cards shown to a signed-in user only.
const SIGNED_IN = ['who-details', 'who-actions', 'sessions', 'mfa', 'passkeys', 'activity'];
account.reload = () => loadMe();

function showSignedIn(me) {
  who.dataset.state = 'in';
  $('who-state').replaceChildren('Signed in as ', h('strong', {}, me.username), '.');
  $('who-reason').hidden = true;
  $('who-username').textContent = me.username;
  $('who-role').textContent = me.role;
  $('who-jti').textContent = me.jti;
  $('who-expires').replaceChildren(when(me.expires_at), ` (${fromNow(me.expires_at)})`);
  for (const id of SIGNED_IN) $(id).hidden = false;
  $('signed-out').hidden = true;
  if (account.username !== me.username) {
    closeMfaPanels();
    closePasskeyPanels();
  }
  account.username = me.username;
}

function showSignedOut(reason) {
  who.dataset.state = 'out';
  $('who-state').textContent = 'You are signed out.';
  $('who-reason').textContent = `The server says: ${reason}.`;
  $('who-reason').hidden = false;
  for (const id of SIGNED_IN) $(id).hidden = true;
  $('signed-out').hidden = false;
  // Codes shown once, a pending QR code and a half-filled password do not outlive the session.
  closeMfaPanels();
  closePasskeyPanels();
  account.username = null;
}

/** Asks the server who we are (GET /api/me) and shows the answer: signed in, or signed out on 401. */
async function loadMe() {
  let me;
  try {
    me = await api('GET', '/api/me');
  } catch (err) {
    if (err.status === 401) {
      showSignedOut(err.message);
    } else {
      $('who-state').textContent = 'Your session could not be checked.';
      sayError($('who-msg'), err);
    }
    return;
  }
  showSignedIn(me);
  await Promise.all([loadSessions(), loadMfa(), loadPasskeys(), loadActivity()]);
}

function sessionItem(s) {
  const label = sessionLabel(s);
  const title = h('p', { class: 'agent', title: s.user_agent || '' }, label, s.current ? h('span', { class: 'badge' }, 'this browser') : '');
  const rename = h('button', { type: 'button', class: 'quiet small', 'aria-label': `Rename session ${label}` }, 'Rename');
  const end = h('button', { type: 'button', class: 'danger small', 'aria-label': `End session ${label}` }, 'End');
  renameInPlace(title, rename, {
    name: s.name,
    label: 'Session name',
    placeholder: 'e.g. work laptop',
    save: async (name) => {
      let named;
      try {
        named = await api('PATCH', `/api/sessions/${encodeURIComponent(s.id)}`, { name });
      } catch (err) {
        sayError($('sessions-msg'), err);
        return;
      }
      say($('sessions-msg'), `Session renamed “${named.name}”.`, 'ok');
      await loadSessions();
    },
  });
  end.addEventListener('click', () => busy(end, () => endSession(s)));
  return h(
    'li',
    { class: s.current ? 'session current' : 'session', 'data-id': s.id },
    h(
      'div',
      { class: 'session-text' },
      title,
      h('p', { class: 'muted place' }, sessionPlace(s)),
      h('p', { class: 'muted' }, 'started ', when(s.created_at), ', last used ', when(s.last_used_at)),
    ),
    h('div', { class: 'actions' }, rename, end),
  );
}

/** GET /api/sessions: the caller's live sessions, the current one marked. */
async function loadSessions() {
  const list = $('session-list');
  try {
    const { items } = await api('GET', '/api/sessions');
    list.replaceChildren(...items.map(sessionItem));
    if (items.length === 0) list.replaceChildren(h('li', { class: 'empty' }, 'No live sessions.'));
  } catch (err) {
    if (err.status === 401) return loadMe();
    sayError($('sessions-msg'), err);
  }
}

// The activity shown so far: the `next` of the last page (null: there is no older one).
const ACTIVITY_PAGE = 10;
let activityNext = null;
let activityShown = 0;

function activityRow(e) {
  const detail = detailText(e.detail);
  const by = e.actor && e.actor !== e.username ? ` by ${e.actor}` : '';
  return h(
    'tr',
    { 'data-id': String(e.id), 'data-kind': e.kind },
    h('td', {}, when(e.at)),
    h(
      'td',
      { class: 'wrap' },
      h('span', { class: 'what', title: e.kind }, (KINDS[e.kind] ?? e.kind) + by),
      detail ? h('span', { class: 'muted detail' }, ` (${detail})`) : '',
    ),
    h('td', {}, e.ip ?? '—'),
    h('td', { class: 'wrap' }, userAgent(e.user_agent)),
  );
}

/** GET /api/events: the newest page, or (`older`) the page after the ones shown. */
async function loadActivity(older = false) {
  let page;
  try {
    page = await api('GET', `/api/events${query([['limit', ACTIVITY_PAGE], ['before', older ? activityNext : null]])}`);
  } catch (err) {
    sayError($('activity-msg'), err);
    return;
  }
  const rows = page.items.map(activityRow);
  const body = $('activity-table').tBodies[0];
  if (older) {
    body.append(...rows);
    activityShown += rows.length;
  } else {
    const empty = h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'No activity yet.'));
    body.replaceChildren(...(rows.length ? rows : [empty]));
    activityShown = rows.length;
  }
  activityNext = page.next ?? null;
  $('activity-info').textContent = `${count(activityShown, 'event')} shown`;
  $('activity-more').disabled = activityNext === null;
}

$('activity-more').addEventListener('click', (event) => {
  say($('activity-msg'), '');
  busy(event.currentTarget, () => loadActivity(true));
});
$('activity-reload').addEventListener('click', (event) => {
  say($('activity-msg'), '');
  busy(event.currentTarget, () => loadActivity());
});

async function endSession(s) {
  try {
    await api('DELETE', `/api/sessions/${encodeURIComponent(s.id)}`);
  } catch (err) {
    sayError($('sessions-msg'), err);
    return;
  }
  if (s.current) {
    say($('who-msg'), 'This session has ended.', 'ok');
    await loadMe();
  } else {
    say($('sessions-msg'), 'Session ended: its tokens are refused from now on.', 'ok');
    await loadSessions();
  }
}

/** Runs an action of the who-am-I card, shows its outcome, then shows who we are now. */
function action(id, work) {
  const button = $(id);
  button.addEventListener('click', () =>
    busy(button, async () => {
      try {
        say($('who-msg'), await work(), 'ok');
      } catch (err) {
        sayError($('who-msg'), err);
      }
      await loadMe();
    }),
  );
}

action('refresh', async () => {
  const issued = await refresh();
  return `New token issued; it expires ${fromNow(issued.expires_at)}.`;
});
action('logout', async () => {
  await api('POST', '/blacklist/logout');
  return 'Logged out: that token is refused from now on.';
});
action('logout-all', async () => {
  const { sessions_ended: n } = await api('POST', '/blacklist/logout-all');
  return `Logged out everywhere: ${count(n, 'session')} ended.`;
});

/** A locked account's refusal gives the end of the lock in RFC 3339: add it in local time. */
function untilLocked(err) {
  if (err.code === 'account_locked' && err.body?.until) err.message = `${err.message} (${local(err.body.until)}, your time)`;
  throw err;
}

async function loggedIn(me) {
  say($('who-msg'), `Logged in as ${me.username}.`, 'ok');
  await loadMe();
}

/** The login's second step takes a TOTP code ('totp') or a recovery code ('recovery_code'). */
function mfaMethod(method) {
  const el = $('login-mfa-form');
  el.dataset.method = method;
  for (const part of el.querySelectorAll('[data-for]')) {
    part.hidden = part.dataset.for !== method;
    // A disabled field is left out of the form's data: one of code or recovery_code is sent.
    if (part.localName === 'input') part.disabled = part.hidden;
  }
  $('login-mfa-switch').textContent = method === 'totp' ? 'Use a recovery code instead' : 'Use a code from the app instead';
}

/**
 * After a right password for an account with a second factor: ask for what `methods` (the
 * server's list) accepts: a code (TOTP, or a recovery code instead), a passkey, or either.
 */
function showCodeStep(methods = ['totp', 'recovery_code']) {
  const el = $('login-mfa-form');
  el.reset();
  say(el.querySelector('.msg'), '');
  const totp = methods.includes('totp');
  const recovery = methods.includes('recovery_code');
  const passkey = methods.includes('passkey');
  mfaMethod(totp ? 'totp' : recovery ? 'recovery_code' : null);
  el.querySelector('button[type=submit]').hidden = !totp && !recovery;
  $('login-mfa-switch').hidden = !(totp && recovery);
  $('login-mfa-passkey').hidden = !passkey;
  // A passkey alone: it is the step's one way on, so it is the primary button.
  $('login-mfa-passkey').classList.toggle('primary', passkey && !totp && !recovery);
  $('login-mfa-passkey-hint').hidden = !passkey || totp || recovery;
  $('login-form').hidden = true;
  el.hidden = false;
  (totp || recovery ? el.querySelector('input:not([disabled])') : $('login-mfa-passkey')).focus();
}

/** Back to username and password, with why (the second step can no longer be passed). */
function showPasswordStep(username, why) {
  $('login-mfa-form').hidden = true;
  $('login-form').hidden = false;
  if (username) $('login-username').value = username;
  if (why) say($('login-msg'), why, 'error');
  $(username ? 'login-password' : 'login-username').focus();
}

let challengedUser = null; // the username whose password opened the second step

form(
  'login-form',
  (creds) => {
    challengedUser = creds.username;
    const remember = $('login-remember').checked;
    return api('POST', '/authenticate', { ...creds, remember }).catch(untilLocked);
  },
  async (answer, el) => {
    el.reset();
    if (answer.mfa_required) {
      showCodeStep(answer.methods);
      return;
    }
    await loggedIn(answer);
  },
);

/** The second step is passed: back to the password form (hidden with the page's signed-out part). */
async function passedSecondStep(me) {
  const el = $('login-mfa-form');
  el.reset();
  el.hidden = true;
  $('login-form').hidden = false;
  await loggedIn(me);
}

/** The challenge is gone (expired, too many failures, the account changed): back to the password. */
function challengeGone(err) {
  showPasswordStep(challengedUser, `${err.message} with your password.`);
}

form(
  'login-mfa-form',
  (f) =>
    api('POST', '/authenticate/mfa', f).catch((err) => {
      // The challenge is gone (expired, too many wrong codes, the account changed): the code
      // step cannot be passed any more, so the password form comes back, saying why.
      if (err.code !== 'mfa_challenge_invalid') throw err;
      challengeGone(err);
      return null;
    }),
  async (me) => {
    if (me) await passedSecondStep(me);
  },
);

// The second step with a passkey: a challenge for the account's passkeys, the browser's
// prompt, and the signature back, with the `mfa` cookie (Path=/authenticate) each time.
$('login-mfa-passkey').addEventListener('click', (event) =>
  busy(event.currentTarget, async () => {
    const msg = $('login-mfa-form').querySelector('.msg');
    say(msg, '');
    let me;
    try {
      const options = await api('POST', '/authenticate/mfa/passkey/start', {});
      const credential = await ceremony('the passkey was not used', () => navigator.credentials.get(requestOptions(options)));
      me = await api('POST', '/authenticate/mfa/passkey/finish', { credential: assertionJson(credential) });
    } catch (err) {
      if (err.code === 'mfa_challenge_invalid') challengeGone(err);
      else sayError(msg, err);
      return;
    }
    await passedSecondStep(me);
  }),
);

// A login with a passkey alone: the server asks for any passkey of this site (no username),
// the browser offers the ones it holds, and the signature names the account.
$('login-passkey').hidden = !passkeysAvailable();
$('login-passkey').addEventListener('click', (event) =>
  busy(event.currentTarget, async () => {
    const msg = $('login-msg');
    say(msg, '');
    let answer;
    try {
      const options = await api('POST', '/authenticate/passkey/start', {});
      const credential = await ceremony('you were not logged in', () => navigator.credentials.get(requestOptions(options)));
      const remember = $('login-remember').checked;
      answer = await api('POST', '/authenticate/passkey/finish', { credential: assertionJson(credential), remember }).catch(untilLocked);
    } catch (err) {
      sayError(msg, err);
      return;
    }
    $('login-form').reset();
    if (answer.mfa_required) {
      showCodeStep(answer.methods);
      return;
    }
    await loggedIn(answer);
  }),
);

$('login-mfa-switch').addEventListener('click', () => {
  mfaMethod($('login-mfa-form').dataset.method === 'totp' ? 'recovery_code' : 'totp');
  say($('login-mfa-form').querySelector('.msg'), '');
  $('login-mfa-form').querySelector('input:not([disabled])').focus();
});
$('login-mfa-cancel').addEventListener('click', () => showPasswordStep(challengedUser, null));

form(
  'signup-form',
  (creds) => api('POST', '/api/users', creds),
  (user, el, msg) => {
    el.reset();
    say(msg, `Account “${user.username}” created. Log in with it.`, 'ok');
    $('login-username').value = user.username;
    $('login-password').focus();
  },
);

$('sessions-reload').addEventListener('click', (event) => {
  say($('sessions-msg'), '');
  busy(event.currentTarget, loadSessions);
});

loadMe();
