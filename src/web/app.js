// The user's page (/): sign up, log in (with a TOTP or recovery code after the password when
// the account has a second factor), who am I, refresh, log out (here or everywhere), the list of
// one's sessions (device, address, a name one may give each, a button to end each), one's second
// factor (turn TOTP on or off, new recovery codes), and one's recent security activity.

import {
  $, KINDS, api, busy, count, detailText, fields, fromNow, h, local, query, refresh, say, sayError,
  sessionLabel, sessionPlace, userAgent, when,
} from './common.js';

const who = $('who');
// The cards shown to a signed-in user only.
const SIGNED_IN = ['who-details', 'who-actions', 'sessions', 'mfa', 'activity'];
let username = null; // who is signed in, for the recovery codes' file

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
  if (username !== me.username) closeMfaPanels();
  username = me.username;
}

function showSignedOut(reason) {
  who.dataset.state = 'out';
  $('who-state').textContent = 'You are signed out.';
  $('who-reason').textContent = `The server says: ${reason}.`;
  $('who-reason').hidden = false;
  for (const id of SIGNED_IN) $(id).hidden = true;
  $('signed-out').hidden = false;
  // Codes shown once and a pending QR code do not outlive the session.
  closeMfaPanels();
  username = null;
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
  await Promise.all([loadSessions(), loadMfa(), loadActivity()]);
}

/**
 * Makes `button` edit a name in place of `title` (a session's, a passkey's): a one-field form
 * labelled `label`, whose Save calls `save` with the trimmed name; Cancel or Escape puts the
 * title back. `save` reloads the list on success, which replaces the form.
 */
function renameInPlace(title, button, { name, label, placeholder, save }) {
  button.addEventListener('click', () => {
    const input = h('input', { name: 'name', maxlength: 64, required: '', 'aria-label': label, placeholder });
    input.value = name ?? '';
    const submit = h('button', { type: 'submit', class: 'primary small' }, 'Save');
    const cancel = h('button', { type: 'button', class: 'quiet small' }, 'Cancel');
    const form = h('form', { class: 'rename' }, input, submit, cancel);
    const close = () => {
      form.replaceWith(title);
      button.hidden = false;
      button.focus();
    };
    cancel.addEventListener('click', close);
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') close();
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(submit, () => save(input.value.trim()));
    });
    title.replaceWith(form);
    button.hidden = true;
    input.focus();
    input.select();
  });
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

// ---- The second factor: TOTP on or off, its enrolment, recovery codes ----

const MFA_PANELS = ['totp-enrol', 'totp-off-form', 'recovery-form'];

/** Shows one of the card's panels (an id of MFA_PANELS), or none (null). */
function openMfaPanel(id) {
  for (const panel of MFA_PANELS) $(panel).hidden = panel !== id;
  for (const form of $('mfa').querySelectorAll('form')) {
    form.reset();
    say(form.querySelector('.msg'), '');
  }
}

/** Closes every panel, forgets the pending QR code and key, and hides the recovery codes. */
function closeMfaPanels() {
  openMfaPanel(null);
  $('totp-qr').replaceChildren();
  $('totp-secret').textContent = '';
  hideRecoveryCodes();
  say($('mfa-msg'), '');
}

/** GET /api/mfa's answer on the card: whether TOTP is on, how many recovery codes are left. */
function showFactors(f) {
  const state = $('mfa-state');
  state.dataset.totp = f.totp ? 'on' : 'off';
  if (f.totp) {
    const left = f.recovery_codes_left;
    state.replaceChildren(
      h('strong', {}, 'TOTP is on'),
      `: logins ask for a code after your password. ${count(left, 'recovery code')} left.`,
      left <= 3 ? h('span', { class: 'muted' }, ' Running low: get new ones.') : '',
    );
  } else {
    state.replaceChildren(h('strong', {}, 'TOTP is off'), ': logins ask for your password only.');
  }
  $('totp-start').hidden = f.totp || !$('totp-enrol').hidden;
  $('recovery-new').hidden = !f.totp;
  $('totp-off').hidden = !f.totp;
}

async function loadMfa() {
  try {
    showFactors(await api('GET', '/api/mfa'));
  } catch (err) {
    if (err.status === 401) return loadMe();
    sayError($('mfa-msg'), err);
  }
}

/**
 * The QR code: the server's SVG document, parsed as XML and inserted as elements. The CSP
 * allows no data: image; shapes inserted in the page need no URL at all. Anything but shapes
 * (a script, a link, an event handler) is dropped, though the server sends none.
 */
function qrCode(markup) {
  const doc = new DOMParser().parseFromString(markup, 'image/svg+xml');
  const root = doc.documentElement;
  if (root.localName !== 'svg' || doc.getElementsByTagName('parsererror').length > 0) return null;
  for (const el of root.querySelectorAll('script, foreignObject, image, use, a, style')) el.remove();
  for (const el of [root, ...root.querySelectorAll('*')]) {
    for (const { name } of [...el.attributes]) {
      if (/^on/i.test(name) || name === 'style' || /href$/i.test(name)) el.removeAttribute(name);
    }
  }
  const node = document.importNode(root, true);
  node.setAttribute('aria-hidden', 'true');
  node.setAttribute('focusable', 'false');
  return node;
}

/** A base32 key in groups of four, as authenticator apps show and accept it. */
const grouped = (key) => key.replace(/(.{4})(?=.)/g, '$1 ');

/** POST /api/mfa/totp: a pending key; shows its QR code and the key, then asks for a code. */
async function startTotp() {
  say($('mfa-msg'), '');
  let enrolment;
  try {
    enrolment = await api('POST', '/api/mfa/totp');
  } catch (err) {
    sayError($('mfa-msg'), err);
    return;
  }
  hideRecoveryCodes();
  openMfaPanel('totp-enrol');
  const qr = qrCode(enrolment.qr_svg);
  $('totp-qr').replaceChildren(qr ?? h('p', { class: 'muted' }, 'The QR code cannot be shown: type the key below.'));
  $('totp-secret').textContent = grouped(enrolment.secret);
  $('totp-start').hidden = true;
  $('totp-code').focus();
}

// The object URL of the recovery codes' text file, while they are shown.
let codesUrl = null;

/** Shows recovery codes (this once) with a link that saves them as recovery-codes.txt. */
function showRecoveryCodes(codes) {
  hideRecoveryCodes();
  $('recovery-list').replaceChildren(...codes.map((code) => h('li', {}, h('code', {}, code))));
  const text = [
    `Recovery codes for ${username} (jwt-blacklist), ${new Date().toISOString()}`,
    'Each logs in once in place of a TOTP code. Keep them safe.',
    '',
    ...codes,
    '',
  ].join('\n');
  codesUrl = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  $('recovery-download').href = codesUrl;
  $('recovery-codes').hidden = false;
}

function hideRecoveryCodes() {
  $('recovery-codes').hidden = true;
  $('recovery-list').replaceChildren();
  $('recovery-download').removeAttribute('href');
  if (codesUrl) URL.revokeObjectURL(codesUrl);
  codesUrl = null;
}

$('totp-start').addEventListener('click', (event) => busy(event.currentTarget, startTotp));
$('totp-cancel').addEventListener('click', async () => {
  closeMfaPanels();
  await loadMfa();
  $('totp-start').focus();
});
$('totp-off').addEventListener('click', () => {
  say($('mfa-msg'), '');
  openMfaPanel('totp-off-form');
  $('totp-off-password').focus();
});
$('recovery-new').addEventListener('click', () => {
  say($('mfa-msg'), '');
  openMfaPanel('recovery-form');
  $('recovery-password').focus();
});
for (const cancel of $('mfa').querySelectorAll('form button.cancel')) {
  cancel.addEventListener('click', () => openMfaPanel(null));
}
$('recovery-done').addEventListener('click', () => {
  hideRecoveryCodes();
  say($('mfa-msg'), '');
});

form(
  'totp-confirm-form',
  (f) => api('POST', '/api/mfa/totp/confirm', { code: f.code.trim() }),
  async ({ recovery_codes: codes }) => {
    closeMfaPanels();
    showRecoveryCodes(codes);
    say($('mfa-msg'), 'TOTP is on: your next login asks for a code.', 'ok');
    await loadMfa();
    $('recovery-download').focus();
  },
);

form(
  'totp-off-form',
  (f) => api('DELETE', '/api/mfa/totp', f),
  async () => {
    closeMfaPanels();
    say($('mfa-msg'), 'TOTP is off: your recovery codes no longer work.', 'ok');
    await loadMfa();
  },
);

form(
  'recovery-form',
  (f) => api('POST', '/api/mfa/recovery-codes', f),
  async ({ recovery_codes: codes }) => {
    closeMfaPanels();
    showRecoveryCodes(codes);
    say($('mfa-msg'), 'New recovery codes: the old ones no longer work.', 'ok');
    await loadMfa();
    $('recovery-download').focus();
  },
);

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

/** Wires a form to an API call; `done` gets the answer and says what happened. */
function form(id, work, done) {
  const el = $(id);
  const msg = el.querySelector('.msg');
  el.addEventListener('submit', (event) => {
    event.preventDefault();
    const submit = el.querySelector('button[type=submit]');
    busy(submit, async () => {
      say(msg, '');
      let answer;
      try {
        answer = await work(fields(el));
      } catch (err) {
        sayError(msg, err);
        return;
      }
      await done(answer, el, msg);
    });
  });
}

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

/** After a right password for an account with a second factor: ask for a code. */
function showCodeStep() {
  const el = $('login-mfa-form');
  el.reset();
  say(el.querySelector('.msg'), '');
  mfaMethod('totp');
  $('login-form').hidden = true;
  el.hidden = false;
  $('login-code').focus();
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
    return api('POST', '/authenticate', creds).catch(untilLocked);
  },
  async (answer, el) => {
    el.reset();
    if (answer.mfa_required) {
      showCodeStep();
      return;
    }
    await loggedIn(answer);
  },
);

form(
  'login-mfa-form',
  (f) =>
    api('POST', '/authenticate/mfa', f).catch((err) => {
      // The challenge is gone (expired, too many wrong codes, the account changed): the code
      // step cannot be passed any more, so the password form comes back, saying why.
      if (err.code !== 'mfa_challenge_invalid') throw err;
      showPasswordStep(challengedUser, `${err.message} with your password.`);
      return null;
    }),
  async (me, el) => {
    if (!me) return;
    el.reset();
    el.hidden = true;
    $('login-form').hidden = false;
    await loggedIn(me);
  },
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
