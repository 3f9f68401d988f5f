// The user's page (/): sign up, log in, who am I, refresh, log out (here or everywhere), the
// list of one's sessions (device, address, a name one may give each, a button to end each), and
// one's recent security activity.

import {
  $, KINDS, api, busy, count, detailText, fields, fromNow, h, local, query, refresh, say, sayError,
  sessionLabel, sessionPlace, userAgent, when,
} from './common.js';

const who = $('who');

function showSignedIn(me) {
  who.dataset.state = 'in';
  $('who-state').replaceChildren('Signed in as ', h('strong', {}, me.username), '.');
  $('who-reason').hidden = true;
  $('who-username').textContent = me.username;
  $('who-role').textContent = me.role;
  $('who-jti').textContent = me.jti;
  $('who-expires').replaceChildren(when(me.expires_at), ` (${fromNow(me.expires_at)})`);
  for (const id of ['who-details', 'who-actions', 'sessions', 'activity']) $(id).hidden = false;
  $('signed-out').hidden = true;
}

function showSignedOut(reason) {
  who.dataset.state = 'out';
  $('who-state').textContent = 'You are signed out.';
  $('who-reason').textContent = `The server says: ${reason}.`;
  $('who-reason').hidden = false;
  for (const id of ['who-details', 'who-actions', 'sessions', 'activity']) $(id).hidden = true;
  $('signed-out').hidden = false;
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
  await Promise.all([loadSessions(), loadActivity()]);
}

/** The form that names a session (PATCH /api/sessions/<id>); `close` puts the name back. */
function renameForm(s, close) {
  const input = h('input', { name: 'name', maxlength: 64, required: '', 'aria-label': 'Session name', placeholder: 'e.g. work laptop' });
  input.value = s.name ?? '';
  const save = h('button', { type: 'submit', class: 'primary small' }, 'Save');
  const cancel = h('button', { type: 'button', class: 'quiet small' }, 'Cancel');
  const form = h('form', { class: 'rename' }, input, save, cancel);
  cancel.addEventListener('click', close);
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(save, async () => {
      let named;
      try {
        named = await api('PATCH', `/api/sessions/${encodeURIComponent(s.id)}`, { name: input.value.trim() });
      } catch (err) {
        sayError($('sessions-msg'), err);
        return;
      }
      say($('sessions-msg'), `Session renamed “${named.name}”.`, 'ok');
      await loadSessions();
    });
  });
  return form;
}

function sessionItem(s) {
  const label = sessionLabel(s);
  const title = h('p', { class: 'agent', title: s.user_agent || '' }, label, s.current ? h('span', { class: 'badge' }, 'this browser') : '');
  const rename = h('button', { type: 'button', class: 'quiet small', 'aria-label': `Rename session ${label}` }, 'Rename');
  const end = h('button', { type: 'button', class: 'danger small', 'aria-label': `End session ${label}` }, 'End');
  rename.addEventListener('click', () => {
    const form = renameForm(s, () => {
      form.replaceWith(title);
      rename.hidden = false;
      rename.focus();
    });
    title.replaceWith(form);
    rename.hidden = true;
    form.elements.name.focus();
    form.elements.name.select();
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

form(
  'login-form',
  (creds) => api('POST', '/authenticate', creds).catch(untilLocked),
  async (me, el) => {
    el.reset();
    say($('who-msg'), `Logged in as ${me.username}.`, 'ok');
    await loadMe();
  },
);

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
