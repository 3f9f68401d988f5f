// The account page's factor cards: the second factor (TOTP on or off, its enrolment, recovery
// codes) and one's passkeys (add, rename, remove). app.js tells them who is signed in and how to
// check the session again (`account`).

import {
  $, api, busy, count, creationOptions, h, passkeyProblem, passkeysAvailable, registrationJson, say,
  sayError, when, whenOr,
} from './common.js';
import { form, renameInPlace } from './forms.js';

/** Set by app.js: who is signed in (for the recovery codes' file), and how to check again. */
export const account = {
  username: null,
  reload: async () => {},
};

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
export function closeMfaPanels() {
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

export async function loadMfa() {
  try {
    showFactors(await api('GET', '/api/mfa'));
  } catch (err) {
    if (err.status === 401) return account.reload();
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
    `Recovery codes for ${account.username} (jwt-blacklist), ${new Date().toISOString()}`,
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

export function closePasskeyPanels() {
  openPasskeyPanel(null);
  removing = null;
  say($('passkeys-msg'), '');
}

/**
 * Runs a WebAuthn ceremony (`run` calls navigator.credentials). The browser's refusal, which says
 * little on purpose, becomes an error whose message says `outcome` and the likely reason.
 */
export async function ceremony(outcome, run) {
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
export async function loadPasskeys() {
  const list = $('passkey-list');
  try {
    const { passkeys } = await api('GET', '/api/passkeys');
    list.replaceChildren(...passkeys.map(passkeyItem));
    if (passkeys.length === 0) list.replaceChildren(h('li', { class: 'empty' }, 'No passkeys yet.'));
  } catch (err) {
    if (err.status === 401) return account.reload();
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
