// The admin's page (/admin): revocations per hour (an SVG chart), the blacklist a page at a
// time with the purge, and one user's sessions and role. `/admin?limit=N` sets the page size.

import { $, api, busy, fields, h, say, sayError, svg, when } from './common.js';

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
  const agent = s.user_agent || 'unknown browser';
  const end = h('button', { type: 'button', class: 'danger small', 'aria-label': `End ${shown}'s session in ${agent}` }, 'End');
  end.addEventListener('click', () =>
    busy(end, () =>
      guarded($('user-msg'), async () => {
        await api('DELETE', `/sessions/${encodeURIComponent(s.id)}`);
        say($('user-msg'), 'Session ended: its tokens are refused from now on.', 'ok');
        await lookUp(shown);
      }),
    ),
  );
  return h(
    'li',
    { class: s.current ? 'session current' : 'session', 'data-id': s.id },
    h(
      'div',
      { class: 'session-text' },
      h('p', { class: 'agent' }, agent, s.current ? h('span', { class: 'badge' }, 'your session') : ''),
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
  const count = `${items.length} live ${items.length === 1 ? 'session' : 'sessions'}`;
  $('user-name').replaceChildren(h('span', { class: 'mono' }, username), `: ${count}`);
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
      say($('role-msg'), `${body.username} is now ${body.role}; ${n} ${n === 1 ? 'session' : 'sessions'} ended.`, 'ok');
      await lookUp(shown);
    }),
  );
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
  await Promise.all([guarded($('chart-msg'), loadChart), guarded($('blacklist-msg'), loadBlacklist)]);
  if ($('access').hidden) $('admin').hidden = false;
}

start();
