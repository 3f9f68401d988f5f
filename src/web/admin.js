// The admin's page (/admin): revocations per hour (an SVG chart), the blacklist a page at a
// time with the purge, the users (search, filters, lock and unlock), one user's sessions and
// role, and the audit log. `/admin?limit=N` sets the page size of the three tables.

import {
  $, KINDS, api, busy, count, day, detailText, fields, h, instant, local, query, say, sayError,
  sessionLabel, sessionPlace, svg, userAgent, when, whenOr,
} from './common.js';

const asked = Number(new URLSearchParams(location.search).get('limit'));
const LIMIT = Number.isInteger(asked) && asked >= 1 && asked <= 1000 ? asked : 20;
let offset = 0;
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
async function guarded(msg, work) {
  try {
    await work();
  } catch (err) {
    if (err.status === 401 || err.status === 403) denied(err);
    else sayError(msg, err);
  }
}

// The chart's geometry, in viewBox units.
const W = 480;
const H = 170;
const PLOT = { left: 30, right: 6, top: 10, bottom: 26 };
const hourLabel = new Intl.DateTimeFormat(undefined, { hour: 'numeric' });

/** Bars for the 24 hours (oldest first), a y axis from 0 to the busiest hour, hour labels. */
function drawChart(hours) {
  const max = Math.max(1, ...hours.map((x) => x.revoked));
  const width = W - PLOT.left - PLOT.right;
  const height = H - PLOT.top - PLOT.bottom;
  const base = PLOT.top + height;
  const slot = width / hours.length;
  const y = (v) => base - (v / max) * height;
  const parts = [];
  for (const tick of new Set([0, Math.round(max / 2), max])) {
    parts.push(svg('line', { class: 'grid', x1: PLOT.left, x2: W - PLOT.right, y1: y(tick), y2: y(tick) }));
    parts.push(svg('text', { class: 'axis', x: PLOT.left - 6, y: y(tick) + 4, 'text-anchor': 'end' }, String(tick)));
  }
  hours.forEach((hour, i) => {
    const label = hourLabel.format(new Date(hour.hour));
    const tall = (hour.revoked / max) * height;
    const title = svg('title', {}, `${label}: ${hour.revoked} ${hour.revoked === 1 ? 'revocation' : 'revocations'}`);
    const bar = svg('rect', {
      class: 'bar',
      x: (PLOT.left + i * slot + slot * 0.15).toFixed(1),
      y: (base - tall).toFixed(1),
      width: (slot * 0.7).toFixed(1),
      height: tall.toFixed(1),
      'data-hour': hour.hour,
      'data-revoked': hour.revoked,
    }, title);
    parts.push(bar);
    const last = i === hours.length - 1;
    if (i % 6 === 0 || last) {
      const x = PLOT.left + (i + 0.5) * slot;
      parts.push(svg('text', { class: 'axis', x: x.toFixed(1), y: H - 8, 'text-anchor': 'middle' }, last ? 'now' : label));
    }
  });
  parts.push(svg('line', { class: 'baseline', x1: PLOT.left, x2: W - PLOT.right, y1: base, y2: base }));
  $('chart').replaceChildren(...parts);
  const total = hours.reduce((sum, x) => sum + x.revoked, 0);
  $('chart-summary').textContent =
    `${total} ${total === 1 ? 'revocation' : 'revocations'} in the last 24 hours, at most ${max} in one hour. A revocation is a logout, an ended session or a logout everywhere.`;
}

async function loadChart() {
  const { hours } = await api('GET', '/blacklist/hourly');
  drawChart(hours);
}

function blacklistRow(item) {
  return h(
    'tr',
    {},
    h('td', { class: 'mono' }, item.jti),
    h('td', {}, item.username),
    h('td', {}, when(item.blacklisted_at)),
    h('td', {}, when(item.expires_at)),
  );
}

/** GET /blacklist, one page at `offset`; after a purge the page may have gone: show the last one. */
async function loadBlacklist() {
  $('prev').disabled = true;
  $('next').disabled = true;
  const page = await api('GET', `/blacklist?limit=${LIMIT}&offset=${offset}`);
  if (page.items.length === 0 && offset > 0 && page.total > 0) {
    offset = Math.floor((page.total - 1) / LIMIT) * LIMIT;
    return loadBlacklist();
  }
  const rows = page.items.map(blacklistRow);
  const empty = h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'The blacklist is empty.'));
  $('blacklist').tBodies[0].replaceChildren(...(rows.length ? rows : [empty]));
  $('page-info').textContent = page.total
    ? `${offset + 1}–${offset + page.items.length} of ${page.total}`
    : '0 rows';
  $('prev').disabled = offset === 0;
  $('next').disabled = offset + page.items.length >= page.total;
}

function page(delta) {
  offset = Math.max(0, offset + delta * LIMIT);
  say($('blacklist-msg'), '');
  guarded($('blacklist-msg'), loadBlacklist);
}

$('prev').addEventListener('click', () => page(-1));
$('next').addEventListener('click', () => page(1));
$('blacklist-reload').addEventListener('click', (event) => {
  say($('blacklist-msg'), '');
  busy(event.currentTarget, () => guarded($('blacklist-msg'), () => Promise.all([loadBlacklist(), loadChart()])));
});

$('purge').addEventListener('click', (event) =>
  busy(event.currentTarget, () =>
    guarded($('blacklist-msg'), async () => {
      const { purged } = await api('POST', '/blacklist/purge');
      say($('blacklist-msg'), `Purged ${purged} expired ${purged === 1 ? 'row' : 'rows'}.`, 'ok');
      await loadBlacklist();
    }),
  ),
);

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

/** The button that submitted a form (Enter in a field counts as its submit button). */
const submitter = (event) => event.submitter ?? event.currentTarget.querySelector('button[type=submit]');

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
async function loadUsers() {
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

// The audit log: the filters applied last, and the `before` of every page up to the one shown
// (the first page has none), so that "Newer" goes back one.
let auditFilter = [];
let auditPages = [null];
let auditNext = null;
let auditAsked = 0;

$('audit-kinds').append(
  ...Object.entries(KINDS).map(([kind, words]) =>
    h('label', { class: 'kind', title: words }, h('input', { type: 'checkbox', name: 'kind', value: kind }), ' ', kind),
  ),
);

function auditRow(e) {
  const none = () => h('span', { class: 'muted' }, '—');
  return h(
    'tr',
    { 'data-id': String(e.id), 'data-kind': e.kind },
    h('td', {}, when(e.at)),
    h('td', { class: 'mono', title: KINDS[e.kind] ?? '' }, e.kind),
    h('td', { class: 'wrap' }, e.actor ?? none()),
    h('td', { class: 'wrap' }, e.username ?? none()),
    h('td', { class: 'wrap from' }, h('p', {}, e.ip ?? none()), h('p', {}, userAgent(e.user_agent))),
    h('td', { class: 'wrap detail' }, detailText(e.detail)),
  );
}

/** GET /audit with the applied filters, the page before `auditPages.at(-1)`. */
async function loadAudit() {
  const asked = ++auditAsked;
  $('audit-newer').disabled = true;
  $('audit-older').disabled = true;
  const page = await api('GET', `/audit${query([...auditFilter, ['limit', LIMIT], ['before', auditPages.at(-1)]])}`);
  if (asked !== auditAsked) return;
  auditNext = page.next;
  const rows = page.items.map(auditRow);
  const empty = h('tr', {}, h('td', { colspan: 6, class: 'empty' }, auditPages.length > 1 ? 'No older event.' : 'No event matches.'));
  $('audit').tBodies[0].replaceChildren(...(rows.length ? rows : [empty]));
  $('audit-info').textContent = `page ${auditPages.length}: ${count(page.items.length, 'event')}`;
  $('audit-newer').disabled = auditPages.length === 1;
  $('audit-older').disabled = page.next === null || page.next === undefined;
}

/** Applies the filter form from the newest event. */
function filterAudit() {
  const form = new FormData($('audit-form'));
  const since = instant(form.get('since'));
  const until = instant(form.get('until'));
  auditFilter = [
    ['username', String(form.get('username')).trim()],
    ...form.getAll('kind').map((kind) => ['kind', kind]),
    ['since', since],
    ['until', until],
  ];
  auditPages = [null];
  say($('audit-msg'), '');
  return guarded($('audit-msg'), loadAudit);
}

$('audit-form').addEventListener('submit', (event) => {
  event.preventDefault();
  busy(submitter(event), filterAudit);
});
$('audit-clear').addEventListener('click', (event) => {
  $('audit-form').reset();
  busy(event.currentTarget, filterAudit);
});
$('audit-older').addEventListener('click', () => {
  auditPages.push(auditNext);
  say($('audit-msg'), '');
  guarded($('audit-msg'), loadAudit);
});
$('audit-newer').addEventListener('click', () => {
  if (auditPages.length > 1) auditPages.pop();
  say($('audit-msg'), '');
  guarded($('audit-msg'), loadAudit);
});
$('audit-reload').addEventListener('click', (event) => {
  say($('audit-msg'), '');
  busy(event.currentTarget, () => guarded($('audit-msg'), loadAudit));
});

async function start() {
  try {
    me = await api('GET', '/api/me');
  } catch (err) {
    if (err.status === 401 || err.status === 403) denied(err);
    else say($('signed-in-as'), `Your session could not be checked: ${err.message}`, 'error');
    return;
  }
  $('signed-in-as').replaceChildren('Signed in as ', h('strong', {}, me.username), ` (${me.role}).`);
  await Promise.all([
    guarded($('chart-msg'), loadChart),
    guarded($('blacklist-msg'), loadBlacklist),
    guarded($('users-msg'), loadUsers),
    guarded($('audit-msg'), loadAudit),
  ]);
  if ($('access').hidden) $('admin').hidden = false;
}

start();
