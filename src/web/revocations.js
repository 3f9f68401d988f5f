// The admin page's revocations: revocations per hour (an SVG chart), and the blacklist a page
// at a time with the purge.

import { $, api, busy, h, say, svg, when } from './common.js';
import { LIMIT, guarded } from './access.js';

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

export async function loadChart() {
  const { hours } = await api('GET', '/blacklist/hourly');
  drawChart(hours);
}

// The blacklist's page shown: the offset of its first row.
let offset = 0;

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
export async function loadBlacklist() {
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
