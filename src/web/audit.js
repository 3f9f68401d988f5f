// The admin page's audit log: filters (user, kinds, a time range) and pages from the newest
// event back.

import {
  $, KINDS, api, busy, count, detailText, h, instant, query, say, userAgent, when,
} from './common.js';
import { LIMIT, guarded, submitter } from './access.js';

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
export async function loadAudit() {
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
