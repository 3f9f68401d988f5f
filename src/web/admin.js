// The admin's page (/admin): revocations per hour (an SVG chart), the blacklist a page at a
// time with the purge, the users (search, filters, lock and unlock), one user's sessions and
// role, and the audit log. `/admin?limit=N` sets the page size of the three tables. The chart
// and the blacklist are in revocations.js, the users and one user's card in users.js, the audit
// log in audit.js; the access check and what the cards share in access.js.

import { $ } from './common.js';
import { checkAccess, guarded } from './access.js';
import { loadAudit } from './audit.js';
import { loadBlacklist, loadChart } from './revocations.js';
import { loadUsers } from './users.js';

async function start() {
  if (!(await checkAccess())) return;
  await Promise.all([
    guarded($('chart-msg'), loadChart),
    guarded($('blacklist-msg'), loadBlacklist),
    guarded($('users-msg'), loadUsers),
    guarded($('audit-msg'), loadAudit),
  ]);
  if ($('access').hidden) $('admin').hidden = false;
}

start();
