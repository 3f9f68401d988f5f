// The user's page (/): sign up, log in, who am I, refresh, log out (here or everywhere), and
// the list of one's sessions with a button to end each.

import { $, api, busy, fields, fromNow, h, refresh, say, sayError, when } from './common.js';

const who = $('who');

function showSignedIn(me) {
  who.dataset.state = 'in';
  $('who-state').replaceChildren('Signed in as ', h('strong', {}, me.username), '.');
  $('who-reason').hidden = true;
  $('who-username').textContent = me.username;
  $('who-role').textContent = me.role;
  $('who-jti').textContent = me.jti;
  $('who-expires').replaceChildren(when(me.expires_at), ` (${fromNow(me.expires_at)})`);
  for (const id of ['who-details', 'who-actions', 'sessions']) $(id).hidden = false;
  $('signed-out').hidden = true;
}

function showSignedOut(reason) {
  who.dataset.state = 'out';
  $('who-state').textContent = 'You are signed out.';
  $('who-reason').textContent = `The server says: ${reason}.`;
  $('who-reason').hidden = false;
  for (const id of ['who-details', 'who-actions', 'sessions']) $(id).hidden = true;
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
  await loadSessions();
}

function sessionItem(s) {
  const agent = s.user_agent || 'unknown browser';
  const end = h('button', { type: 'button', class: 'danger small', 'aria-label': `End session in ${agent}` }, 'End');
  end.addEventListener('click', () => busy(end, () => endSession(s)));
  return h(
    'li',
    { class: s.current ? 'session current' : 'session', 'data-id': s.id },
    h(
      'div',
      { class: 'session-text' },
      h('p', { class: 'agent' }, agent, s.current ? h('span', { class: 'badge' }, 'this browser') : ''),
      h('p', { class: 'muted' }, 'started ', when(s.created_at), ', last used ', when(s.last_used_at)),
    ),
    end,
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
  return `Logged out everywhere: ${n} ${n === 1 ? 'session' : 'sessions'} ended.`;
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

form(
  'login-form',
  (creds) => api('POST', '/authenticate', creds),
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
