// The admin page's users: the table (search, filters, pages, lock and unlock) and the card of
// one user's sessions and role, which a row's count of live sessions opens.

import {
  $, api, busy, count, day, fields, h, instant, local, query, say, sessionLabel, sessionPlace, when,
  whenOr,
} from './common.js';
import { LIMIT, guarded, submitter } from './access.js';

// The user looked up last, whose sessions and role the card shows.
let shown = null;

function userSession(s) {
  const label = sessionLabel(s);
  const end = h('button', { type: 'button', class: 'danger small', 'aria-label': `End ${shown}'s session ${label}` }, 'End');
  end.addEventListener('click', () =>
    busy(end, () =>
      guarded($('user-msg'), async () => {
        await api('DELETE', `/sessions/${encodeURIComponent(s.id)}`);
        say($('user-msg'), 'Session ended: its tokens are refused from now on.', 'ok');
        await Promise.all([lookUp(shown), reloadUsers()]);
      }),
    ),
  );
  return h(
    'li',
    { class: s.current ? 'session current' : 'session', 'data-id': s.id },
    h(
      'div',
      { class: 'session-text' },
      h('p', { class: 'agent', title: s.user_agent || '' }, label, s.current ? h('span', { class: 'badge' }, 'your session') : ''),
      h('p', { class: 'muted place' }, sessionPlace(s)),
      h('p', { class: 'muted' }, 'started ', when(s.created_at), ', last used ', when(s.last_used_at)),
    ),
    end,
  );
}

/** GET /sessions?username=: the user's role and live sessions. */
async function lookUp(username) {
  const { items, role } = await api('GET', `/sessions?username=${encodeURIComponent(username)}`);
  if (shown !== username) say($('role-msg'), '');
  $('role-select').value = role;
  shown = username;
  $('lookup-username').value = username;
  $('user-name').replaceChildren(h('span', { class: 'mono' }, username), `: ${count(items.length, 'live session')}`);
  $('user-sessions').replaceChildren(...items.map(userSession));
  $('user-result').hidden = false;
}

$('lookup-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const { username } = fields(event.currentTarget);
  say($('user-msg'), '');
  busy(submitter(event), () =>
    guarded($('user-msg'), async () => {
      try {
        await lookUp(username.trim());
      } catch (err) {
        if (err.status === 404) $('user-result').hidden = true;
        throw err;
      }
    }),
  );
});

$('role-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const { role } = fields(event.currentTarget);
  busy(submitter(event), () =>
    guarded($('role-msg'), async () => {
      const body = await api('PATCH', `/api/users/${encodeURIComponent(shown)}`, { role });
      const n = body.sessions_ended;
      say($('role-msg'), `${body.username} is now ${body.role}; ${count(n, 'session')} ended.`, 'ok');
      await Promise.all([lookUp(shown), reloadUsers()]);
    }),
  );
});

// The users table: the filters applied last (the form may hold unsent edits), the page shown,
// and the user the lock form is for.
let usersFilter = [];
let usersOffset = 0;
let usersAsked = 0; // the latest request: an older answer that arrives late is dropped
let typing = null; // the search box's pause timer
let locking = null;

/** Active, or locked (until when, and why). */
function lockState(u) {
  if (!u.locked) return h('span', { class: 'tag' }, 'active');
  const until = u.locked_until ? ['until ', when(u.locked_until)] : ['until unlocked'];
  return h(
    'div',
    { class: 'lock-state' },
    h('p', {}, h('span', { class: 'tag locked' }, 'locked'), ' ', ...until),
    u.lock_reason ? h('p', { class: 'muted reason' }, u.lock_reason) : '',
  );
}

function userRow(u) {
  // The count of live sessions is the button that shows them (and the role) below the table.
  const sessions = h(
    'button',
    { type: 'button', class: 'quiet small', 'aria-label': `Sessions and role of ${u.username}: ${count(u.live_sessions, 'live session')}` },
    String(u.live_sessions),
  );
  sessions.addEventListener('click', () =>
    busy(sessions, () =>
      guarded($('user-msg'), async () => {
        say($('user-msg'), '');
        await lookUp(u.username);
        $('user-card').scrollIntoView({ block: 'start' });
      }),
    ),
  );
  let lock;
  if (u.locked) {
    lock = h('button', { type: 'button', class: 'small', 'aria-label': `Unlock ${u.username}` }, 'Unlock');
    lock.addEventListener('click', () => busy(lock, () => unlock(u.username)));
  } else {
    lock = h('button', { type: 'button', class: 'danger small', 'aria-label': `Lock ${u.username}…` }, 'Lock…');
    lock.addEventListener('click', () => openLock(u.username));
  }
  return h(
    'tr',
    { 'data-username': u.username, 'data-locked': String(u.locked) },
    h('td', { class: 'wrap' }, u.username),
    h('td', {}, u.role),
    h('td', {}, day(u.created_at)),
    h('td', {}, whenOr(u.last_login_at, 'never')),
    h('td', { class: 'wrap' }, lockState(u)),
    h('td', { class: 'num' }, sessions),
    h('td', {}, lock),
  );
}

/** GET /api/users with the applied filters, one page at `usersOffset`. */
export async function loadUsers() {
  const asked = ++usersAsked;
  $('users-prev').disabled = true;
  $('users-next').disabled = true;
  const page = await api('GET', `/api/users${query([...usersFilter, ['limit', LIMIT], ['offset', usersOffset]])}`);
  if (asked !== usersAsked) return;
  if (page.items.length === 0 && usersOffset > 0 && page.total > 0) {
    usersOffset = Math.floor((page.total - 1) / LIMIT) * LIMIT;
    return loadUsers();
  }
  const rows = page.items.map(userRow);
  const empty = h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'No user matches.'));
  $('users').tBodies[0].replaceChildren(...(rows.length ? rows : [empty]));
  $('users-info').textContent = page.total
    ? `${usersOffset + 1}–${usersOffset + page.items.length} of ${count(page.total, 'user')}`
    : '0 users';
  $('users-prev').disabled = usersOffset === 0;
  $('users-next').disabled = usersOffset + page.items.length >= page.total;
}

/** The users table again, same filters and page (after a change to a user). */
const reloadUsers = () => guarded($('users-msg'), loadUsers);

/** Applies the filter form from the first page. */
function searchUsers() {
  clearTimeout(typing);
  const { q, role, status } = fields($('users-form'));
  usersFilter = [['q', q.trim()], ['role', role], ['status', status]];
  usersOffset = 0;
  say($('users-msg'), '');
  return guarded($('users-msg'), loadUsers);
}

$('users-form').addEventListener('submit', (event) => {
  event.preventDefault();
  busy(submitter(event), searchUsers);
});
// The selects apply at once, the search box after a pause in typing.
for (const id of ['users-role', 'users-status']) $(id).addEventListener('change', searchUsers);
$('users-q').addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(searchUsers, 300);
});

function usersPage(delta) {
  usersOffset = Math.max(0, usersOffset + delta * LIMIT);
  say($('users-msg'), '');
  guarded($('users-msg'), loadUsers);
}
$('users-prev').addEventListener('click', () => usersPage(-1));
$('users-next').addEventListener('click', () => usersPage(1));
$('users-reload').addEventListener('click', (event) => {
  say($('users-msg'), '');
  busy(event.currentTarget, () => guarded($('users-msg'), loadUsers));
});

function openLock(username) {
  locking = username;
  const form = $('lock-form');
  form.reset();
  $('lock-title').replaceChildren('Lock ', h('span', { class: 'mono' }, username));
  form.hidden = false;
  form.scrollIntoView({ block: 'nearest' });
  $('lock-reason').focus();
}

function closeLock() {
  locking = null;
  $('lock-form').hidden = true;
}

$('lock-cancel').addEventListener('click', closeLock);

/** POST /api/users/<u>/lock: every session of the user ends at once. */
$('lock-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const { reason, until } = fields(event.currentTarget);
  const body = { reason: reason.trim() };
  if (instant(until)) body.until = instant(until);
  const username = locking;
  busy(submitter(event), () =>
    guarded($('users-msg'), async () => {
      const done = await api('POST', `/api/users/${encodeURIComponent(username)}/lock`, body);
      closeLock();
      const till = done.locked_until ? `until ${local(done.locked_until)}` : 'until an admin unlocks the account';
      say($('users-msg'), `${done.username} is locked ${till}; ${count(done.sessions_ended, 'session')} ended.`, 'ok');
      await Promise.all([loadUsers(), shown === username ? lookUp(username) : null]);
    }),
  );
});

/** POST /api/users/<u>/unlock. */
function unlock(username) {
  return guarded($('users-msg'), async () => {
    const done = await api('POST', `/api/users/${encodeURIComponent(username)}/unlock`);
    say($('users-msg'), `${done.username} is unlocked: they can log in again.`, 'ok');
    await loadUsers();
  });
}
