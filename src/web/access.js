// What the admin page's cards share: the access check (who is signed in; a 401 or 403 stops
// the page with a notice, any other error is said in the card that asked), the tables' page
// size (`/admin?limit=N`) and the button that submitted a form.

import { $, api, h, say, sayError } from './common.js';

const asked = Number(new URLSearchParams(location.search).get('limit'));
export const LIMIT = Number.isInteger(asked) && asked >= 1 && asked <= 1000 ? asked : 20;
// The admin signed in (GET /api/me): the notice names them when the role is missing.
let me = null;

/** A 401 or 403 stops the page: say why, and where to go. */
function denied(err) {
  $('admin').hidden = true;
  const access = $('access');
  const said = h('p', { class: 'muted' }, `The server says: ${err.message}.`);
  if (err.status === 401) {
    $('signed-in-as').textContent = 'Not signed in.';
    const link = h('a', { href: '/' }, 'log in at /');
    access.replaceChildren(h('p', {}, h('strong', {}, 'You are not signed in.'), ' Please ', link, ' as an admin, then come back here.'), said);
  } else {
    const who = me ? ` You are signed in as ${me.username}, with the role ${me.role}.` : '';
    access.replaceChildren(h('p', {}, h('strong', {}, 'This page needs the admin role.'), who), said);
  }
  access.dataset.status = String(err.status);
  access.hidden = false;
}

/** Runs `work`: a 401 or 403 shows the access notice, any other error goes to `msg`. */
export async function guarded(msg, work) {
  try {
    await work();
  } catch (err) {
    if (err.status === 401 || err.status === 403) denied(err);
    else sayError(msg, err);
  }
}

/** The button that submitted a form (Enter in a field counts as its submit button). */
export const submitter = (event) => event.submitter ?? event.currentTarget.querySelector('button[type=submit]');

/** GET /api/me: shows who is signed in; false (with the notice or the error shown) otherwise. */
export async function checkAccess() {
  try {
    me = await api('GET', '/api/me');
  } catch (err) {
    if (err.status === 401 || err.status === 403) denied(err);
    else say($('signed-in-as'), `Your session could not be checked: ${err.message}`, 'error');
    return false;
  }
  $('signed-in-as').replaceChildren('Signed in as ', h('strong', {}, me.username), ` (${me.role}).`);
  return true;
}
