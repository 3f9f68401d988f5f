// The user's page (/): sign up, log in (with a TOTP or recovery code or a passkey after the
// password when the account has a second factor, or with a passkey alone), who am I, refresh,
// log out (here or everywhere), the list of one's sessions (device, address, a name one may give
// each, a button to end each), one's second factor (turn TOTP on or off, new recovery codes),
// one's passkeys (add, rename, remove), and one's recent security activity.

import {
  $, KINDS, api, assertionJson, busy, count, creationOptions, detailText, fields, fromNow, h, local,
  passkeyProblem, passkeysAvailable, query, refresh, registrationJson, requestOptions, say, sayError,
  sessionLabel, sessionPlace, userAgent, when, whenOr,
} from './common.js';

const who = $('who');
// The cards shown to a signed-in user only.
const SIGNED_IN = ['who-details', 'who-actions', 'sessions', 'mfa', 'passkeys', 'activity'];
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
  if (username !== me.username) {
    closeMfaPanels();
    closePasskeyPanels();
  }
  username = me.username;
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
  await Promise.all([loadSessions(), loadMfa(), loadPasskeys(), loadActivity()]);
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

/**
 * GET /api/mfa's answer on the card: whether TOTP is on, how many recovery codes are left, and
 * whether passkeys make the password a first step anyway.
 */
function showFactors(f) {
  const state = $('mfa-state');
  state.dataset.totp = f.totp ? 'on' : 'off';
  const passkeys = f.passkeys ?? 0;
  if (f.totp) {
    const left = f.recovery_codes_left;
    state.replaceChildren(
      h('strong', {}, 'TOTP is on'),
      `: logins ask for a code${passkeys ? ' or a passkey' : ''} after your password. ${count(left, 'recovery code')} left.`,
      left <= 3 ? h('span', { class: 'muted' }, ' Running low: get new ones.') : '',
    );
  } else if (passkeys) {
    state.replaceChildren(h('strong', {}, 'TOTP is off'), ': logins ask for one of your passkeys after your password.');
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

// ---- Passkeys: the list, adding one (a name, then the browser's prompt), renaming, removing ----

const PASSKEY_PANELS = ['passkey-add-form', 'passkey-remove-form'];
let removing = null; // the passkey the remove form is for

/** Shows one of the card's forms (an id of PASSKEY_PANELS), emptied, or none (null). */
function openPasskeyPanel(id) {
  for (const panel of PASSKEY_PANELS) {
    const el = $(panel);
    el.hidden = panel !== id;
    el.reset();
    say(el.querySelector('.msg'), '');
  }
  $('passkey-add').hidden = id === 'passkey-add-form' || !passkeysAvailable();
}

function closePasskeyPanels() {
  openPasskeyPanel(null);
  removing = null;
  say($('passkeys-msg'), '');
}

/**
 * Runs a WebAuthn ceremony (`run` calls navigator.credentials). The browser's refusal, which says
 * little on purpose, becomes an error whose message says `outcome` and the likely reason.
 */
async function ceremony(outcome, run) {
  if (!passkeysAvailable()) throw new Error(`${outcome}: this browser cannot use passkeys on this page`);
  let credential;
  try {
    credential = await run();
  } catch (err) {
    throw new Error(`${outcome}: ${passkeyProblem(err)}`);
  }
  if (!credential) throw new Error(`${outcome}: the browser gave no passkey`);
  return credential;
}

function passkeyItem(p) {
  const title = h('p', { class: 'agent' }, p.name);
  const rename = h('button', { type: 'button', class: 'quiet small', 'aria-label': `Rename passkey ${p.name}` }, 'Rename');
  const remove = h('button', { type: 'button', class: 'danger small', 'aria-label': `Remove passkey ${p.name}` }, 'Remove…');
  renameInPlace(title, rename, {
    name: p.name,
    label: 'Passkey name',
    placeholder: 'e.g. phone',
    save: async (name) => {
      let named;
      try {
        named = await api('PATCH', `/api/passkeys/${encodeURIComponent(p.id)}`, { name });
      } catch (err) {
        sayError($('passkeys-msg'), err);
        return;
      }
      say($('passkeys-msg'), `Passkey renamed “${named.name}”.`, 'ok');
      await loadPasskeys();
    },
  });
  remove.addEventListener('click', () => {
    say($('passkeys-msg'), '');
    openPasskeyPanel('passkey-remove-form');
    removing = p;
    $('passkey-remove-name').textContent = p.name;
    $('passkey-remove-password').focus();
  });
  return h(
    'li',
    { class: 'session passkey', 'data-id': p.id },
    h(
      'div',
      { class: 'session-text' },
      title,
      h('p', { class: 'muted' }, 'created ', when(p.created_at), ', last used ', whenOr(p.last_used_at, 'never')),
    ),
    h('div', { class: 'actions' }, rename, remove),
  );
}

/** GET /api/passkeys: the caller's passkeys. */
async function loadPasskeys() {
  const list = $('passkey-list');
  try {
    const { passkeys } = await api('GET', '/api/passkeys');
    list.replaceChildren(...passkeys.map(passkeyItem));
    if (passkeys.length === 0) list.replaceChildren(h('li', { class: 'empty' }, 'No passkeys yet.'));
  } catch (err) {
    if (err.status === 401) return loadMe();
    sayError($('passkeys-msg'), err);
  }
}

$('passkeys-unsupported').hidden = passkeysAvailable();
$('passkey-add').hidden = !passkeysAvailable();
$('passkey-add').addEventListener('click', () => {
  say($('passkeys-msg'), '');
  openPasskeyPanel('passkey-add-form');
  $('passkey-name').focus();
});
for (const cancel of $('passkeys').querySelectorAll('form button.cancel')) {
  cancel.addEventListener('click', () => openPasskeyPanel(null));
}
$('passkeys-reload').addEventListener('click', (event) => {
  say($('passkeys-msg'), '');
  busy(event.currentTarget, loadPasskeys);
});

// The name is checked before the browser's prompt, not after it: a refusal then would waste
// the passkey the authenticator just made.
form(
  'passkey-add-form',
  async (f) => {
    const name = f.name.trim();
    if (!name) throw new Error('give the passkey a name: 1 to 64 characters, not only spaces');
    const options = await api('POST', '/api/passkeys/register/start', {});
    const credential = await ceremony('no passkey was added', () => navigator.credentials.create(creationOptions(options)));
    return api('POST', '/api/passkeys/register/finish', { name, credential: registrationJson(credential) });
  },
  async (passkey) => {
    closePasskeyPanels();
    say($('passkeys-msg'), `Passkey “${passkey.name}” added: it logs you in, and a login with your password asks for it.`, 'ok');
    await Promise.all([loadPasskeys(), loadMfa()]);
  },
);

form(
  'passkey-remove-form',
  (f) => api('DELETE', `/api/passkeys/${encodeURIComponent(removing.id)}`, f),
  async () => {
    const { name } = removing;
    closePasskeyPanels();
    say($('passkeys-msg'), `Passkey “${name}” removed: it no longer logs you in.`, 'ok');
    await Promise.all([loadPasskeys(), loadMfa()]);
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
    return api('POST', '/authenticate', creds).catch(untilLocked);
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
      answer = await api('POST', '/authenticate/passkey/finish', { credential: assertionJson(credential) }).catch(untilLocked);
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
