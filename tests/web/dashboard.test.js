// Browser test of the manager dashboard: a real rapport-server, data seeded
// with the real `rapport` CLI, the page driven in headless Chromium.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { SERVER_BIN, CLI_BIN, ARTIFACTS, CHROMIUM_ARGS, cli, adminPost: post } = require('./support');

const TOKEN = 'web-test-admin-token-0123456789abcdef-0123';

let tmp, server, url, context, page;
const adminPost = (pathname, body) => post(url, TOKEN, pathname, body);
const consoleErrors = [];
const pageErrors = [];

/** A new device token of the admin user, named `name` (the CLI takes the device from its token). */
async function deviceToken(name) {
  const res = await fetch(`${url}/v1/admin/users/admin/devices`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  return JSON.parse(body).token;
}

function startServer(dataDir) {
  return new Promise((resolve, reject) => {
    const child = spawn(SERVER_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dataDir], {
      env: { ...process.env, RAPPORT_ADMIN_TOKEN: TOKEN, RUST_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error('the server did not start in time')), 30000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve({ child, url: m[1] }); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error('the server exited with ' + code)); });
  });
}

async function api(pathname, params = {}) {
  const q = new URLSearchParams(params).toString();
  const res = await fetch(url + pathname + (q ? '?' + q : ''), { headers: { Authorization: 'Bearer ' + TOKEN } });
  assert.equal(res.status, 200, pathname);
  return res.json();
}

async function pageWeighted() {
  return page.$$eval('#weighted-value [data-currency]', (spans) =>
    Object.fromEntries(spans.map((s) => [s.dataset.currency, Number(s.dataset.minor)])));
}

function apiWeighted(report) {
  return Object.fromEntries(report.rows.map((r) => [r.currency, r.weighted_minor]));
}

async function pageStages() {
  return page.$$eval('#funnel [data-stage]', (gs) =>
    Object.fromEntries(gs.map((g) => [g.dataset.stage, { count: Number(g.dataset.count), amounts: g.dataset.amounts }])));
}

// The open-conflicts table as {account/field: {count, values}}.
async function pageConflicts() {
  return page.$$eval('#open-conflicts tbody tr[data-field]', (trs) => Object.fromEntries(trs.map((tr) => [
    tr.dataset.accountRow + '/' + tr.dataset.field,
    {
      count: Number(tr.dataset.count),
      values: [...tr.querySelectorAll('li[data-value]')].map((li) => li.dataset.value + ' (' + li.dataset.user + ')').sort().join(', '),
      shown: tr.querySelector('li.winner').dataset.value,
    },
  ])));
}

function apiConflicts(report) {
  return Object.fromEntries(report.rows.map((r) => [
    r.account_id + '/' + r.field,
    { count: r.value_count, values: r.values.map((v) => v.value + ' (' + v.user + ')').sort().join(', '), shown: r.shown_value },
  ]));
}

function apiStages(report) {
  const out = {};
  for (const r of report.rows) {
    const s = out[r.stage] || (out[r.stage] = { count: 0, amounts: [] });
    s.count += r.deals;
    s.amounts.push(r.currency + '=' + r.amount_minor);
  }
  for (const s of Object.values(out)) s.amounts = s.amounts.join(';');
  return out;
}

async function until(what, check, ms = 10000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting for ' + what);
}

let seeded;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-web-'));
  ({ child: server, url } = await startServer(path.join(tmp, 'data')));

  // The directory the filters offer: a team, two reps and their territories.
  await adminPost('/v1/admin/teams', { name: 'north' });
  const anaToken = (await adminPost('/v1/admin/users', { name: 'ana', role: 'rep', teams: ['north'], territories: ['kyiv'] })).token;
  await adminPost('/v1/admin/users', { name: 'bo', role: 'rep', teams: [], territories: ['lviv'] });

  const a = path.join(tmp, 'replica-a');
  cli(a, 'init', '--server', url, '--token', await deviceToken('laptop'));
  const acme = cli(a, 'account', 'add', '--name', 'Acme Tools', '--owner', 'ana');
  const globex = cli(a, 'account', 'add', '--name', 'Globex Foods', '--owner', 'ana');
  const big = cli(a, 'deal', 'add', acme, '--title', 'Fleet renewal', '--amount', '1200', '--currency', 'EUR', '--stage', 'proposal');
  const small = cli(a, 'deal', 'add', globex, '--title', 'Pilot', '--amount', '450', '--currency', 'EUR', '--stage', 'proposal');
  const third = cli(a, 'deal', 'add', globex, '--title', 'Expansion', '--amount', '800', '--currency', 'EUR');
  cli(a, 'deal', 'stage', globex, third, 'negotiation');
  cli(a, 'interaction', 'log', acme, '--kind', 'visit', '--subject', 'Site visit');
  cli(a, 'interaction', 'log', globex, '--kind', 'call', '--subject', 'Intro call');
  cli(a, 'account', 'set', acme, 'party.team', 'north');
  cli(a, 'account', 'set', acme, 'party.territory', 'kyiv');
  cli(a, 'account', 'set', acme, `deals.${big}.next_step`, 'Send the revised quote');
  cli(a, 'account', 'set', acme, `deals.${big}.expected_close`, '2099-03-31');
  // Initech: an overdue deal in hryvnias (closes in the past, still open), a
  // lost one with its reason, a phase, and a call ana planned for yesterday.
  const initech = cli(a, 'account', 'add', '--name', 'Initech', '--owner', 'ana');
  const overdue = cli(a, 'deal', 'add', initech, '--title', 'Boiler retrofit', '--amount', '360000', '--currency', 'UAH', '--stage', 'negotiation');
  cli(a, 'account', 'set', initech, `deals.${overdue}.expected_close`, '2026-01-15');
  cli(a, 'account', 'set', initech, `deals.${overdue}.next_step`, 'Call the CFO');
  const lost = cli(a, 'deal', 'add', initech, '--title', 'Old pumps', '--amount', '90000', '--currency', 'UAH', '--stage', 'proposal');
  cli(a, 'account', 'set', initech, `deals.${lost}.lost_reason`, 'price');
  cli(a, 'deal', 'stage', initech, lost, 'lost');
  cli(a, 'account', 'set', initech, 'party.lifecycle_phase', 'development');
  cli(a, 'sync');
  // ana, on her phone, calls Initech and plans a review with it for yesterday (both are hers).
  const anaPhone = path.join(tmp, 'replica-ana');
  cli(anaPhone, 'init', '--server', url, '--token', anaToken);
  cli(anaPhone, 'sync');
  cli(anaPhone, 'interaction', 'log', initech, '--kind', 'call', '--subject', 'Check-in');
  const planned = cli(anaPhone, 'interaction', 'log', initech, '--kind', 'meeting', '--subject', 'Quarterly review');
  cli(anaPhone, 'account', 'set', initech, `interactions.${planned}.status`, 'planned');
  cli(anaPhone, 'account', 'set', initech, `interactions.${planned}.actual_start`, '');
  cli(anaPhone, 'account', 'set', initech, `interactions.${planned}.planned_start`, new Date(Date.now() - 86400000).toISOString().replace(/\.\d+Z$/, 'Z'));
  cli(anaPhone, 'sync');
  cli(a, 'sync');
  // 25 key accounts nobody has talked to: more than one page of "key accounts at risk".
  const csv = path.join(tmp, 'key-accounts.csv');
  fs.writeFileSync(csv, 'name,owner,value_tier\n' +
    Array.from({ length: 25 }, (_, i) => `Key ${String(i).padStart(2, '0')},ana,key\n`).join(''));
  cli(a, 'import', csv);
  cli(a, 'sync');
  // Two devices write Acme's website without seeing each other's edit: an open conflict.
  const c = path.join(tmp, 'replica-c');
  cli(c, 'init', '--server', url, '--token', await deviceToken('phone'));
  cli(c, 'sync');
  cli(a, 'account', 'set', acme, 'party.website', 'acme.example');
  cli(c, 'account', 'set', acme, 'party.website', 'acme-tools.example');
  cli(a, 'sync');
  cli(c, 'sync');
  seeded = { acme, globex, big, small, third, initech, overdue, lost };

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1366, height: 768 },
  });
  page = context.pages()[0] || (await context.newPage());
  // The page must work under its Content-Security-Policy: the browser reports
  // anything the policy blocks on the console.
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
});

after(async () => {
  if (context) await context.close();
  if (server) {
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r() : server.on('exit', r)));
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// Sums of a report's rows per key: {key: {count, amounts: 'CUR=minor;…'}}.
function perKey(report, key, count = 'deals') {
  const out = {};
  for (const r of report.rows) {
    const s = out[r[key]] || (out[r[key]] = { count: 0, amounts: [] });
    s.count += Number(r[count]);
    s.amounts.push(r.currency + '=' + r.amount_minor);
  }
  for (const s of Object.values(out)) s.amounts = s.amounts.join(';');
  return out;
}

// The page is loaded, follows the server live, and is not loading anything.
async function settled() {
  await until('the live stream', async () => (await page.getAttribute('#live-status', 'data-mode')) === 'live');
  await page.waitForSelector('body[data-loaded][data-busy="false"]');
}

async function signedIn(query = '') {
  await page.goto(url + '/' + query);
  await settled();
}

// The page has loaded the view with these API filters.
async function loadedWith(view, params) {
  const want = view + ':' + new URLSearchParams(params).toString();
  await until('the view ' + want, async () => (await page.getAttribute('body', 'data-loaded')) === want);
}

test('the dashboard shows the API figures, drills down and follows the server live', async () => {
  const res = await page.goto(url + '/');
  assert.match(res.headers()['content-security-policy'], /script-src 'self'/);
  assert.equal(res.headers()['x-content-type-options'], 'nosniff');
  assert.equal(res.status(), 200);
  assert.ok(await page.isVisible('#sign-in-form'));

  // A wrong token is refused without showing the dashboard.
  await page.fill('#token', 'not-a-valid-token-at-all-0000');
  await page.click('#sign-in-button');
  await page.waitForSelector('#sign-in-error:not([hidden])');
  assert.ok(await page.isHidden('#dashboard'));

  await page.fill('#token', TOKEN);
  await page.click('#sign-in-button');
  await page.waitForSelector('#weighted-value [data-currency]');
  await loadedWith('overview', {});

  // Figures equal the JSON API's for the same (empty) filters.
  const pipeline = await api('/v1/reports/pipeline');
  assert.deepEqual(await pageWeighted(), apiWeighted(pipeline));
  assert.equal(apiWeighted(pipeline).EUR, 120000 * 0.5 + 45000 * 0.5 + 80000 * 0.8);
  const stages = await api('/v1/reports/stages');
  assert.deepEqual(await pageStages(), apiStages(stages));
  assert.equal(await page.getAttribute('[data-stage="proposal"]', 'data-count'), '2');
  // The bars follow the value, per currency: each bar is the stage's amount
  // over the largest stage's amount in that currency.
  const max = {};
  for (const r of stages.rows) max[r.currency] = Math.max(max[r.currency] || 0, Number(r.amount_minor));
  for (const r of stages.rows) {
    const share = Number(await page.getAttribute(`[data-stage="${r.stage}"] .line[data-currency="${r.currency}"]`, 'data-share'));
    assert.ok(Math.abs(share - Number(r.amount_minor) / max[r.currency]) < 1e-9, `${r.stage} ${r.currency}: ${share}`);
    const width = await page.$eval(`[data-stage="${r.stage}"] .line[data-currency="${r.currency}"] .fill`, (f) =>
      f.getBoundingClientRect().width / f.parentElement.getBoundingClientRect().width);
    assert.ok(Math.abs(width - share) < 0.02, `${r.stage} ${r.currency}: drawn ${width}, share ${share}`);
  }
  // The chart has a table behind it for screen readers, with the same figures.
  assert.equal(await page.locator('[data-testid="funnel-table"] tbody tr').count(), Object.keys(apiStages(stages)).length);
  const activity = await api('/v1/reports/rep-activity');
  for (const row of activity.rows) {
    const n = await page.getAttribute(`#activity g[data-rep="${row.rep}"][data-kind="${row.kind}"]`, 'data-count');
    assert.ok(Number(n) >= row.interactions);
  }
  assert.ok(await page.locator('[data-testid="activity-table"] tbody tr').count() >= 1);
  const ladder = await api('/v1/reports/ladder');
  assert.equal(await page.locator('#ladder tbody tr').count(), ladder.rows.length);
  const conflicts = await api('/v1/reports/open-conflicts');
  assert.deepEqual(await pageConflicts(), apiConflicts(conflicts));
  assert.deepEqual(Object.keys(apiConflicts(conflicts)), [seeded.acme + '/party.website']);
  assert.equal(conflicts.rows[0].values.map((v) => v.value).sort().join(' '), 'acme-tools.example acme.example');

  // Per-row tables come a page at a time, as the API pages them.
  const pageIds = () => page.$$eval('#key-accounts tbody tr[data-account-row]', (trs) => trs.map((tr) => tr.dataset.accountRow));
  const riskPage = async (offset) => (await api('/v1/reports/key-accounts-at-risk', { limit: 20, offset })).rows.map((r) => r.account_id);
  const pager = '[data-testid="key-accounts-at-risk-pager"]';
  assert.equal(await page.getAttribute(pager, 'data-total'), '25');
  assert.equal((await page.textContent(pager + ' .range')).trim(), '1–20 of 25');
  assert.deepEqual(await pageIds(), await riskPage(0));
  assert.ok(await page.isDisabled(pager + ' [data-page="prev"]'));
  await page.click(pager + ' [data-page="next"]');
  await page.waitForSelector(pager + '[data-offset="20"]');
  assert.deepEqual(await pageIds(), await riskPage(20));
  assert.equal((await pageIds()).length, 5);
  assert.ok(await page.isDisabled(pager + ' [data-page="next"]'));
  await page.click(pager + ' [data-page="prev"]');
  await page.waitForSelector(pager + '[data-offset="0"]');
  assert.deepEqual(await pageIds(), await riskPage(0));

  // Drill down: the deals behind a stage, with what a manager reads of each, then an account's history.
  await page.click('[data-stage="proposal"]');
  await page.waitForSelector('#drill[data-drill="deals:by=stage&key=proposal"] [data-testid="drill-deals"] tbody tr');
  const proposal = await api('/v1/reports/deals', { by: 'stage', key: 'proposal' });
  const drillRows = () => page.$$eval('[data-testid="drill-deals"] tbody tr', (trs) => trs.map((tr) =>
    [...tr.cells].map((td) => td.textContent.trim())));
  const rows = await drillRows();
  assert.equal(rows.length, proposal.rows.length);
  const fleet = rows.find((r) => r[1] === 'Fleet renewal');
  assert.deepEqual(fleet, ['Acme Tools', 'Fleet renewal', '€1,200.00', 'Proposal', '50%', 'March 31, 2099', 'Send the revised quote', 'ana', fleet[8]]);
  assert.notEqual(fleet[8], '—', 'last touch: the site visit');
  await page.click(`[data-testid="drill-deals"] [data-account="${seeded.acme}"]`);
  await page.waitForSelector(`[data-testid="history-table"][data-account="${seeded.acme}"] tbody tr`);
  const history = await api(`/v1/reports/accounts/${seeded.acme}/history`);
  assert.equal(await page.locator('[data-testid="history-table"] tbody tr').count(), history.changes.length);
  // From the conflicts table to the account's history, which shows both devices' edits.
  await page.click(`[data-testid="drill-deals"] [data-account="${seeded.globex}"]`);
  await page.waitForSelector(`[data-testid="history-table"][data-account="${seeded.globex}"] tbody tr`);
  await page.click(`#open-conflicts [data-account="${seeded.acme}"]`);
  await page.waitForSelector(`[data-testid="history-table"][data-account="${seeded.acme}"] tbody tr`);
  const devices = await page.$$eval('[data-testid="history-table"] tbody tr td:nth-child(4)', (tds) => tds.map((t) => t.textContent));
  assert.ok(devices.includes('laptop') && devices.includes('phone'), devices.join(','));
  // Each change in words, with the value before and after it.
  const websites = await page.$$eval('[data-testid="history-table"] li[data-field="party.website"]', (lis) =>
    lis.map((li) => [li.querySelector('.field').textContent, li.querySelector('.old').textContent, li.querySelector('.new').textContent]));
  assert.deepEqual(websites.map((w) => w[0]), ['Website', 'Website'], JSON.stringify(websites));
  assert.deepEqual(websites.map((w) => w[2]).sort(), ['acme-tools.example', 'acme.example']);

  // Live: the events stream is open.
  await until('the live stream', async () => (await page.getAttribute('#live-status', 'data-mode')) === 'live');
  const before = (await pageWeighted()).EUR;

  // A second replica wins the big deal and syncs; the page follows without reload.
  const b = path.join(tmp, 'replica-b');
  cli(b, 'init', '--server', url, '--token', await deviceToken('tablet'));
  cli(b, 'sync');
  cli(b, 'deal', 'stage', seeded.acme, seeded.big, 'won');
  cli(b, 'sync');
  const marker = await page.evaluate(() => (window.__sameDocument = true));
  const after = await until('the weighted value to change', async () => {
    const now = (await pageWeighted()).EUR;
    return now !== before ? now : null;
  }, 10000);
  assert.equal(await page.evaluate(() => window.__sameDocument), marker, 'no reload');
  assert.equal(after, apiWeighted(await api('/v1/reports/pipeline')).EUR);
  assert.equal(after, 45000 * 0.5 + 80000 * 0.8);
  await until('the won stage', async () => (await page.getAttribute('[data-stage="won"]', 'data-count')) === '1');
  assert.deepEqual(await pageStages(), apiStages(await api('/v1/reports/stages')));
  // The open drill-down followed too.
  await until('the drill-down to follow', async () =>
    (await page.locator('[data-testid="drill-deals"] tbody tr').count()) === proposal.rows.length - 1);

  // The tablet resolves the conflict; it leaves the table without reload.
  cli(b, 'account', 'set', seeded.acme, 'party.website', 'acme.example');
  cli(b, 'sync');
  await until('the conflict to leave', async () =>
    (await page.locator('#open-conflicts tbody tr[data-field]').count()) === 0);
  assert.deepEqual((await api('/v1/reports/open-conflicts')).rows, []);
  assert.equal(await page.evaluate(() => window.__sameDocument), marker, 'no reload');
  assert.deepEqual(consoleErrors.filter((e) => /Content.Security.Policy/i.test(e)), [], 'nothing blocked by the CSP');
});

test('every report on the page equals the API, and each figure opens the rows behind it', async () => {
  await signedIn();
  // Win rate.
  const win = (await api('/v1/reports/win-rate')).rows[0];
  assert.equal(await page.getAttribute('#win-rate', 'data-won'), String(win.won));
  assert.equal(await page.getAttribute('#win-rate', 'data-lost'), String(win.lost));
  assert.equal(Number(await page.getAttribute('#win-rate', 'data-rate')), win.win_rate);
  assert.deepEqual([win.won, win.lost], [1, 1]);
  assert.equal((await page.textContent('#win-rate')).trim(), '50%');
  // Overdue deals: the KPI and the table, as of today.
  const overdue = await api('/v1/reports/overdue-deals');
  assert.equal(overdue.total, 1);
  assert.equal(await page.getAttribute('#overdue-count', 'data-total'), String(overdue.total));
  assert.deepEqual(await page.$$eval('#overdue-deals tbody tr[data-deal]', (trs) => trs.map((tr) => tr.dataset.deal)), overdue.rows.map((r) => r.deal_id));
  // Forecast by category.
  const forecast = await api('/v1/reports/forecast');
  const pageForecast = await page.$$eval('[data-testid="forecast-table"] tbody tr', (trs) =>
    Object.fromEntries(trs.map((tr) => [tr.dataset.forecast, { count: Number(tr.dataset.count), amounts: tr.dataset.amounts }])));
  assert.deepEqual(pageForecast, perKey(forecast, 'forecast'));
  // Its bars follow the value per currency, like the funnel's.
  const fmax = {};
  for (const r of forecast.rows) fmax[r.currency] = Math.max(fmax[r.currency] || 0, Number(r.amount_minor));
  for (const r of forecast.rows) {
    const share = Number(await page.getAttribute(`[data-testid="forecast-table"] tr[data-forecast="${r.forecast}"] .line[data-currency="${r.currency}"]`, 'data-share'));
    assert.ok(Math.abs(share - Number(r.amount_minor) / fmax[r.currency]) < 1e-9, `${r.forecast} ${r.currency}`);
  }
  // Lost reasons: deals and ended relationships per reason.
  const lost = await api('/v1/reports/lost-reasons');
  const pageLost = await page.$$eval('[data-testid="lost-table"] tbody tr', (trs) => trs.map((tr) => [tr.dataset.record, tr.dataset.reason, Number(tr.dataset.count)]));
  assert.deepEqual(pageLost, lost.rows.map((r) => [r.record, r.reason, r.count]));
  assert.deepEqual(pageLost, [['deal', 'price', 1]]);
  // Lifecycle phases and ended relationships.
  const lifecycle = await api('/v1/reports/lifecycle');
  const pageLifecycle = await page.$$eval('[data-testid="lifecycle-table"] tbody tr', (trs) => trs.map((tr) => [tr.dataset.phase, Number(tr.dataset.accounts), Number(tr.dataset.ended)]));
  assert.deepEqual(pageLifecycle, lifecycle.rows.map((r) => [r.phase, r.accounts, r.ended]));
  // Per-rep summary.
  const summary = await api('/v1/reports/rep-summary');
  const pageSummary = await page.$$eval('[data-testid="rep-summary-table"] tbody tr', (trs) => trs.map((tr) =>
    [tr.dataset.rep, Number(tr.dataset.accounts), Number(tr.dataset.open), Number(tr.dataset.overdue), Number(tr.dataset.today), Number(tr.dataset.later)]));
  assert.deepEqual(pageSummary, summary.rows.map((r) => [r.rep, r.accounts_owned, r.open_deals, r.planned_overdue, r.planned_today, r.planned_later]));
  assert.equal(summary.rows.find((r) => r.rep === 'ana').planned_overdue, 1);
  // Depth of contact (first page).
  const depth = await api('/v1/reports/contact-depth', { limit: 20 });
  const pageDepth = await page.$$eval('#contact-depth tbody tr[data-account-row]', (trs) => trs.map((tr) => [tr.dataset.accountRow, Number(tr.dataset.contacts), Number(tr.dataset.held)]));
  assert.deepEqual(pageDepth, depth.rows.map((r) => [r.account_id, r.contacts_engaged, r.interactions_held]));
  assert.equal(await page.getAttribute('[data-testid="contact-depth-pager"]', 'data-total'), String(depth.total));
  // Stage conversion.
  const conversion = await api('/v1/reports/stage-conversion');
  const pageConversion = await page.$$eval('[data-testid="conversion-table"] tbody tr', (trs) => trs.map((tr) => [tr.dataset.from, tr.dataset.to, Number(tr.dataset.moves)]));
  assert.deepEqual(pageConversion, conversion.rows.map((r) => [r.from_stage, r.to_stage, r.moves]));
  assert.ok(conversion.rows.length >= 2);

  // Each figure opens the deals or accounts behind it: as many rows as it counts.
  const drillCount = async (selector, id) => {
    await settled();
    await page.click(selector);
    await page.waitForSelector(`#drill[data-drill="${id}"]`);
    return Number(await page.getAttribute('#drill', 'data-count'));
  };
  const openDeals = Object.values(perKey(await api('/v1/reports/pipeline'), 'currency', 'open_deals')).reduce((s, r) => s + r.count, 0);
  assert.equal(await drillCount('#open-deals', 'deals:by=open'), openDeals);
  assert.equal(await drillCount('#won-deals', 'deals:by=won'), win.won);
  assert.equal(await drillCount('#lost-deals', 'deals:by=lost'), win.lost);
  assert.equal(await drillCount('#overdue-deals-button', 'deals:by=overdue'), overdue.total);
  const overdueRow = await page.$$eval('[data-testid="drill-deals"] tbody tr', (trs) => [...trs[0].cells].map((td) => td.textContent.trim()));
  assert.deepEqual(overdueRow.slice(0, 8), ['Initech', 'Boiler retrofit', '₴360,000.00', 'Negotiation', '80%', 'January 15, 2026', 'Call the CFO', 'ana']);
  for (const [k, v] of Object.entries(perKey(forecast, 'forecast'))) {
    assert.equal(await drillCount(`[data-forecast="${k}"] [data-drill="forecast"]`, `deals:by=forecast&key=${k}`), v.count, k);
  }
  assert.equal(await drillCount('[data-record="deal"][data-reason="price"] [data-drill="lost"]', 'deals:by=lost&key=price'), 1);
  assert.deepEqual(await page.$$eval('[data-testid="drill-deals"] tbody tr', (trs) => trs.map((tr) => tr.dataset.deal)), [seeded.lost]);
  for (const r of lifecycle.rows.filter((x) => x.accounts > 0)) {
    assert.equal(await drillCount(`[data-phase="${r.phase}"] [data-drill="phase"]`, `accounts:by=phase&key=${r.phase}`), r.accounts, r.phase);
  }
  for (const r of conversion.rows) {
    const id = `deals:by=moved&key=${r.from_stage}&to_stage=${r.to_stage}`;
    const n = await drillCount(`[data-testid="conversion-table"] tr[data-from="${r.from_stage}"][data-to="${r.to_stage}"] [data-drill="moved"]`, id);
    assert.ok(n >= 1 && n <= r.moves, `${id}: ${n} deals for ${r.moves} moves`);
  }
  for (const r of ladder(await api('/v1/reports/ladder'))) {
    assert.equal(await drillCount(`#ladder tr[data-rung="${r.rung}"] [data-drill="rung"]`, `accounts:by=rung&key=${r.rung}`), r.accounts, r.rung);
  }
  const ana = summary.rows.find((r) => r.rep === 'ana');
  assert.equal(await drillCount('[data-testid="rep-summary-table"] tr[data-rep="ana"] [data-drill="rep-open"]', 'deals:by=open&rep=ana'), ana.open_deals);
  // From a drilled account to its history.
  const account = await page.getAttribute('[data-testid="drill-deals"] [data-account]', 'data-account');
  await page.click(`[data-testid="drill-deals"] [data-account="${account}"]`);
  await page.waitForSelector(`[data-testid="history-table"][data-account="${account}"] tbody tr`);
});

function ladder(report) {
  return report.rows.filter((r) => r.accounts > 0);
}

test('filters come from the directory, periods have presets, and the view survives a reload', async () => {
  await signedIn();
  // Team, rep and territory are chosen from the directory.
  const options = (sel) => page.$$eval(sel + ' option', (os) => os.map((o) => o.value).filter(Boolean));
  const dir = await api('/v1/directory');
  assert.deepEqual(await options('#f-team'), [...dir.teams].sort());
  assert.deepEqual(await options('#f-rep'), dir.users.map((u) => u.name).sort());
  assert.deepEqual(await options('#f-territory'), [...dir.territories].sort());
  assert.ok((await options('#f-territory')).includes('lviv'));

  // A territory with no accounts shows no deals; the filter is in the URL and survives a reload.
  await page.selectOption('#f-territory', 'lviv');
  await page.click('#apply-filters');
  await loadedWith('overview', { territory: 'lviv' });
  assert.deepEqual((await api('/v1/reports/pipeline', { territory: 'lviv' })).rows, []);
  assert.equal(await page.locator('#funnel [data-stage]').count(), 0);
  assert.equal(new URL(page.url()).searchParams.get('territory'), 'lviv');
  await page.reload();
  await loadedWith('overview', { territory: 'lviv' });
  assert.equal(await page.inputValue('#f-territory'), 'lviv');
  assert.equal(await page.locator('#funnel [data-stage]').count(), 0);

  // Team and rep: the figures are the API's for those filters.
  await page.selectOption('#f-territory', '');
  await page.selectOption('#f-team', 'north');
  await page.selectOption('#f-rep', 'ana');
  await page.click('#apply-filters');
  await loadedWith('overview', { team: 'north', rep: 'ana' });
  assert.deepEqual(await pageStages(), apiStages(await api('/v1/reports/stages', { team: 'north', rep: 'ana' })));
  assert.deepEqual(Object.keys(await pageStages()), ['won'], 'only Acme is in team north');
  await page.reload();
  await loadedWith('overview', { team: 'north', rep: 'ana' });
  assert.equal(await page.inputValue('#f-team'), 'north');
  assert.equal(await page.inputValue('#f-rep'), 'ana');
  await page.click('#clear-filters');
  await loadedWith('overview', {});

  // A preset fills the period (UTC days) and stays a preset in the URL.
  const now = new Date();
  const y = now.getUTCFullYear(), m = now.getUTCMonth();
  const day = (yy, mm, dd) => new Date(Date.UTC(yy, mm, dd)).toISOString().slice(0, 10);
  const q = Math.floor(m / 3);
  const presets = {
    month: [day(y, m, 1), day(y, m + 1, 0)],
    quarter: [day(y, q * 3, 1), day(y, q * 3 + 3, 0)],
    'last-quarter': [day(y, q * 3 - 3, 1), day(y, q * 3, 0)],
    year: [day(y, 0, 1), day(y, 11, 31)],
  };
  for (const [preset, [from, to]] of Object.entries(presets)) {
    await page.selectOption('#f-period', preset);
    assert.equal(await page.inputValue('#f-from'), from, preset);
    assert.equal(await page.inputValue('#f-to'), to, preset);
  }
  await page.selectOption('#f-period', 'week');
  const weekFrom = await page.inputValue('#f-from');
  assert.equal(new Date(weekFrom + 'T00:00:00Z').getUTCDay(), 1, 'a week starts on Monday');
  await page.selectOption('#f-period', 'year');
  await page.click('#apply-filters');
  const year = { from: presets.year[0], to: presets.year[1] };
  await loadedWith('overview', year);
  assert.equal(new URL(page.url()).searchParams.get('period'), 'year');
  // What the period applies to is stated, and it never hides overdue deals:
  // the overdue deal closes in January of 2026, the period is this year.
  assert.match(await page.textContent('#applies'), /close date.*stage change.*activity date/s);
  assert.equal(await page.getAttribute('#overdue-count', 'data-total'), String((await api('/v1/reports/overdue-deals')).total));
  assert.equal(await page.getAttribute('#overdue-count', 'data-total'), '1');
  assert.deepEqual(await pageStages(), apiStages(await api('/v1/reports/stages', year)));
  assert.deepEqual(await pageWeighted(), apiWeighted(await api('/v1/reports/pipeline', year)));
  await page.reload();
  await loadedWith('overview', year);
  assert.equal(await page.inputValue('#f-period'), 'year');
  assert.equal(await page.inputValue('#f-from'), presets.year[0]);
  // Custom dates.
  await page.selectOption('#f-period', 'custom');
  await page.fill('#f-from', '2099-01-01');
  await page.fill('#f-to', '2099-12-31');
  await page.click('#apply-filters');
  const custom = { from: '2099-01-01', to: '2099-12-31' };
  await loadedWith('overview', custom);
  assert.equal((await page.textContent('#period-text')).trim(), 'January 1, 2099 – December 31, 2099');
  assert.deepEqual(await pageStages(), apiStages(await api('/v1/reports/stages', custom)));
  await page.reload();
  await loadedWith('overview', custom);
  assert.equal(await page.inputValue('#f-period'), 'custom');
  await page.click('#clear-filters');
  await loadedWith('overview', {});
});

test('a rep has a page of their own, reachable from the per-rep summary and kept in the URL', async () => {
  await signedIn();
  await page.click('[data-testid="rep-summary-table"] [data-rep-link="ana"]');
  await loadedWith('rep', {});
  assert.equal(new URL(page.url()).searchParams.get('view'), 'rep');
  assert.equal(new URL(page.url()).searchParams.get('who'), 'ana');
  assert.ok(await page.isVisible('[data-testid="rep-page"]'));
  assert.ok(await page.isHidden('#overview'));
  const check = async () => {
    const summary = (await api('/v1/reports/rep-summary')).rows.find((r) => r.rep === 'ana');
    for (const [k, col] of [['accounts-owned', 'accounts_owned'], ['open-deals', 'open_deals'], ['planned-overdue', 'planned_overdue']]) {
      assert.equal(await page.getAttribute(`#rep-figures [data-figure="${k}"]`, 'data-value'), String(summary[col]), k);
    }
    const stages = await api('/v1/reports/stages', { rep: 'ana' });
    const pageStagesOfAna = await page.$$eval('[data-testid="rep-pipeline-table"] tbody tr', (trs) => Object.fromEntries(trs.map((tr) => [tr.dataset.stage, Number(tr.dataset.count)])));
    assert.deepEqual(pageStagesOfAna, Object.fromEntries(Object.entries(apiStages(stages)).map(([k, v]) => [k, v.count])));
    const overdue = await api('/v1/reports/deals', { by: 'overdue', rep: 'ana' });
    assert.equal(await page.getAttribute('#rep-overdue', 'data-count'), String(overdue.rows.length));
    assert.equal(overdue.rows.length, 1);
    const planned = await api('/v1/reports/interactions', { by: 'planned', key: 'ana' });
    assert.equal(await page.getAttribute('#rep-planned', 'data-count'), String(planned.rows.length));
    assert.equal(planned.rows.length, 1);
    assert.equal(await page.getAttribute('#rep-planned tr[data-interaction]', 'data-due'), 'overdue');
    const held = await api('/v1/reports/interactions', { by: 'held', key: 'ana' });
    const activityOfAna = (await api('/v1/reports/rep-activity')).rows.filter((r) => r.rep === 'ana');
    assert.equal(await page.getAttribute('#rep-activity', 'data-held'), String(held.rows.length));
    assert.equal(held.rows.length, activityOfAna.reduce((n, r) => n + r.interactions, 0));
    assert.equal(held.rows.length, 1);
    assert.equal(await page.getAttribute('#rep-activity g[data-rep="ana"][data-kind="call"]', 'data-count'), '1');
    const risk = await api('/v1/reports/key-accounts-at-risk', { rep: 'ana' });
    assert.equal(await page.getAttribute('#rep-risk', 'data-count'), String(risk.total));
    assert.equal(risk.total, 25);
  };
  await check();
  // A stage of their pipeline opens its deals beside it.
  await page.click('[data-testid="rep-pipeline-table"] tr[data-stage="negotiation"] [data-drill="stage"]');
  await page.waitForSelector('#drill[data-drill="deals:by=stage&key=negotiation&rep=ana"]');
  assert.equal(Number(await page.getAttribute('#drill', 'data-count')), (await api('/v1/reports/deals', { by: 'stage', key: 'negotiation', rep: 'ana' })).rows.length);
  // The page is in the URL: a reload shows it again.
  await page.reload();
  await loadedWith('rep', {});
  assert.equal((await page.textContent('#rep-title')).trim(), 'Rep: ana');
  await check();
  await page.click('#rep-back');
  await loadedWith('overview', {});
  assert.equal(new URL(page.url()).searchParams.get('who'), null);
});

test('the dashboard speaks Ukrainian and Russian, with their formats and stage names', async () => {
  await page.setViewportSize({ width: 1366, height: 768 });
  // Chosen in the URL (the token is still in this tab's session storage).
  await signedIn('?lang=uk');
  assert.equal(await page.getAttribute('html', 'lang'), 'uk');
  assert.equal((await page.textContent('#weighted-title')).trim(), 'Зважена воронка');
  assert.equal((await page.textContent('[data-stage="proposal"] .name')).trim(), 'Пропозиція');
  // Money and numbers in the Ukrainian format: a comma before the decimals.
  const weighted = (await page.textContent('#weighted-value [data-currency="EUR"]')).trim();
  assert.match(weighted, /^\d{1,3}(\s\d{3})*,\d{2}\s(€|EUR)$/u, weighted);
  assert.match(await page.textContent('#live-status'), /наживо|опитування/);
  // Dates, hryvnias and reason names in Ukrainian, in the overdue drill-down.
  await page.click('#overdue-deals-button');
  await page.waitForSelector('#drill[data-drill="deals:by=overdue"] [data-testid="drill-deals"] tbody tr');
  const row = await page.$$eval('[data-testid="drill-deals"] tbody tr', (trs) => [...trs[0].cells].map((td) => td.textContent.trim()));
  assert.equal(row[2].replace(/\s/gu, ' '), '360 000,00 ₴');
  assert.equal(row[3], 'Переговори');
  assert.equal(row[5], '15 січня 2026 р.');
  assert.match(await page.textContent('[data-testid="lost-table"]'), /Ціна/);
  assert.match((await page.textContent('#win-rate')).trim(), /^50\s?%$/u);
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-uk.png'), fullPage: true });
  // The period in words, in the page's language (the date inputs follow the browser's own).
  assert.equal((await page.textContent('#period-text')).trim(), 'Увесь час');
  await signedIn('?lang=uk&period=custom&from=2026-12-04&to=2026-12-31');
  assert.equal((await page.textContent('#period-text')).trim(), '4 грудня 2026 р. – 31 грудня 2026 р.');
  await signedIn('?lang=uk');

  // Switched on the page: Russian, kept for the next visit.
  await page.selectOption('#lang', 'ru');
  await until('the page in Russian', async () => (await page.textContent('#weighted-title')).trim() === 'Взвешенная воронка');
  await until('the funnel in Russian', async () =>
    (await page.textContent('[data-stage="proposal"] .name')).trim() === 'Предложение');
  assert.equal(await page.getAttribute('html', 'lang'), 'ru');
  assert.match(page.url(), /lang=ru/);
  await signedIn();
  assert.equal((await page.textContent('#ladder-title')).trim(), 'Лестница лояльности');
  await page.click('#overdue-deals-button');
  await page.waitForSelector('#drill[data-drill="deals:by=overdue"] [data-testid="drill-deals"] tbody tr');
  const ru = await page.$$eval('[data-testid="drill-deals"] tbody tr', (trs) => [...trs[0].cells].map((td) => td.textContent.trim()));
  assert.equal(ru[2].replace(/\s/gu, ' '), '360 000,00 ₴');
  assert.equal(ru[5], '15 января 2026 г.');
  assert.match(await page.textContent('[data-testid="lost-table"]'), /Цена/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-ru.png'), fullPage: true });

  // A browser set to Ukrainian gets Ukrainian without asking.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-chromium-'));
  const ukrainian = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, locale: 'uk-UA',
  });
  try {
    const p = ukrainian.pages()[0] || (await ukrainian.newPage());
    await p.goto(url + '/');
    assert.equal((await p.textContent('#sign-in-title')).trim(), 'Увійти');
    assert.equal(await p.getAttribute('html', 'lang'), 'uk');
  } finally {
    await ukrainian.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // Back to English for the tests after this one.
  await page.selectOption('#lang', 'en');
  assert.deepEqual(consoleErrors.filter((e) => /Content.Security.Policy/i.test(e)), [], 'nothing blocked by the CSP');
});

test('laptop and tablet layouts keep a clicked stage\'s deals beside it, and axe finds nothing serious', async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  for (const [name, width, height] of [['laptop', 1366, 768], ['tablet-landscape', 1024, 768], ['tablet-portrait', 768, 1024]]) {
    await page.setViewportSize({ width, height });
    await signedIn('?lang=en');
    // No horizontal scrolling.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${name}: ${overflow}px of horizontal scroll`);
    // No half-empty screen: every row of cards fills the grid's width.
    const rows = await page.$$eval('#overview > section:not([hidden])', (cards) => {
      const grid = cards[0].parentElement.getBoundingClientRect();
      const byTop = new Map();
      for (const c of cards) {
        const r = c.getBoundingClientRect();
        const top = Math.round(r.top);
        byTop.set(top, (byTop.get(top) || 0) + r.width);
      }
      return [...byTop.values()].map((w) => w / grid.width);
    });
    for (const filled of rows) assert.ok(filled > 0.9, `${name}: a row of cards fills ${Math.round(filled * 100)}% of the width`);
    // A clicked stage's deals appear next to the funnel or just below it.
    await page.click('[data-stage="negotiation"]');
    await page.waitForSelector('#drill[data-drill="deals:by=stage&key=negotiation"] [data-testid="drill-deals"]');
    const [funnel, drill] = await page.$$eval(['#funnel-card', '#drill-card'].join(','), (els) => els.map((e) => e.getBoundingClientRect().toJSON()));
    const beside = Math.abs(drill.top - funnel.top) < 2 && drill.left >= funnel.right;
    const below = drill.top - funnel.bottom >= 0 && drill.top - funnel.bottom < 24 && Math.abs(drill.left - funnel.left) < 2;
    assert.ok(beside || below, `${name}: funnel ${JSON.stringify(funnel)}, drill ${JSON.stringify(drill)}`);
    await page.screenshot({ path: path.join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
    // axe-core, injected without a <script> (the page's policy allows none inline).
    await page.evaluate(axeSource);
    const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(serious.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`), [], name);
  }
  // The rep page too.
  await page.setViewportSize({ width: 1366, height: 768 });
  await signedIn('?view=rep&who=ana');
  await page.evaluate(axeSource);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious.map((v) => v.id), [], 'rep page');
  // No script error anywhere in the run.
  assert.deepEqual(pageErrors, []);
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-rep.png'), fullPage: true });
});

// A download the page starts, saved under artifacts/.
async function downloaded(button, file) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
  assert.equal(download.suggestedFilename(), file);
  const saved = path.join(ARTIFACTS, file);
  await download.saveAs(saved);
  return saved;
}

test('every report downloads as CSV and XLSX with the filters on the page, amounts in major units', async () => {
  await signedIn('?rep=ana&lang=uk');
  await page.selectOption('#export-report', 'stages');
  const want = await api('/v1/reports/stages', { rep: 'ana' });
  assert.ok(want.rows.some((r) => r.currency === 'UAH'), 'the seed has a deal in hryvnias');
  // Major units as text: 36000000 kopiyky are 360000.00.
  const major = (r) => (Number(r.amount_minor) / 100).toFixed(2);

  const csvFile = await downloaded('#export-csv', 'stages.csv');
  const text = fs.readFileSync(csvFile, 'utf8');
  assert.ok(text.startsWith('\uFEFF'), 'UTF-8 with a byte-order mark, for Excel');
  const lines = text.slice(1).trim().split(/\r?\n/).map((l) => l.split(','));
  assert.deepEqual(lines[0], ['stage', 'currency', 'deals', 'amount']);
  const got = lines.slice(1).map(([stage, currency, deals, amount]) => `${stage}|${currency}|${deals}|${amount}`).sort();
  const expected = want.rows.map((r) => `${r.stage}|${r.currency}|${r.deals}|${major(r)}`).sort();
  assert.deepEqual(got, expected);

  const xlsxFile = await downloaded('#export-xlsx', 'stages.xlsx');
  const read = execFileSync('python3', ['-c', [
    'import json, sys, openpyxl',
    'ws = openpyxl.load_workbook(sys.argv[1]).active',
    'print(json.dumps({"title": ws.title, "rows": [list(r) for r in ws.iter_rows(values_only=True)]}))',
  ].join('\n'), xlsxFile], { encoding: 'utf8' });
  const book = JSON.parse(read);
  assert.equal(book.title, 'stages');
  assert.deepEqual(book.rows[0], ['stage', 'currency', 'deals', 'amount']);
  const cells = book.rows.slice(1).map(([stage, currency, deals, amount]) => `${stage}|${currency}|${deals}|${Number(amount).toFixed(2)}`).sort();
  assert.deepEqual(cells, expected);

  // A report that is as of today on the page is exported so too, whatever the period.
  await signedIn('?period=custom&from=2000-01-01&to=2000-01-31');
  await page.selectOption('#export-report', 'overdue-deals');
  const overdue = fs.readFileSync(await downloaded('#export-csv', 'overdue-deals.csv'), 'utf8');
  assert.ok(overdue.includes('Initech'), overdue);

  // The rows behind a figure download too, with the page's filters.
  await signedIn('?rep=ana');
  await page.click('[data-testid="stage-negotiation"]');
  await page.waitForSelector('#drill[data-drill="deals:by=stage&key=negotiation"]');
  const deals = await api('/v1/reports/deals', { rep: 'ana', by: 'stage', key: 'negotiation' });
  assert.ok(deals.rows.length >= 2, JSON.stringify(deals.rows));
  const drillCsv = fs.readFileSync(await downloaded('#drill-csv', 'deals.csv'), 'utf8');
  assert.ok(drillCsv.startsWith('\uFEFF'));
  assert.equal(drillCsv.slice(1).trim().split(/\r?\n/).length, deals.rows.length + 1, drillCsv);
  for (const r of deals.rows) assert.ok(drillCsv.includes(major(r)) && drillCsv.includes(r.title), drillCsv);
  const drillBook = JSON.parse(execFileSync('python3', ['-c', [
    'import json, sys, openpyxl',
    'ws = openpyxl.load_workbook(sys.argv[1]).active',
    'print(json.dumps([list(r) for r in ws.iter_rows(values_only=True)], default=str))',
  ].join('\n'), await downloaded('#drill-xlsx', 'deals.xlsx')], { encoding: 'utf8' }));
  assert.equal(drillBook.length, deals.rows.length + 1);
  const amountAt = drillBook[0].indexOf('amount');
  assert.deepEqual(drillBook.slice(1).map((row) => Number(row[amountAt]).toFixed(2)).sort(), deals.rows.map(major).sort());
  assert.deepEqual(pageErrors, []);
});

test('a closed period shows its figures as known at its end beside now, with the late edits behind the difference', async () => {
  // Last month, closed. A rep's laptop, offline in the middle of it, opens a
  // deal and wins it (its clock says so: `faketime`); it syncs only today.
  const now = new Date();
  const day = (y, m, d) => new Date(Date.UTC(y, m, d)).toISOString().slice(0, 10);
  const from = day(now.getUTCFullYear(), now.getUTCMonth() - 1, 1);
  const to = day(now.getUTCFullYear(), now.getUTCMonth(), 0);
  const made = from.slice(0, 8) + '15 11:00:00';
  const laptop = path.join(tmp, 'late-laptop.db');
  cli(laptop, 'init', '--server', url, '--token', await deviceToken('late-laptop'));
  cli(laptop, 'sync');
  const offline = (...args) => {
    const out = execFileSync('faketime', ['-f', '@' + made, CLI_BIN, '--replica', laptop, ...args], { encoding: 'utf8', timeout: 30000 });
    return out.trim().split('\n').pop().trim();
  };
  const deal = offline('deal', 'add', seeded.globex, '--title', 'Late win', '--amount', '5000', '--currency', 'EUR', '--stage', 'proposal');
  offline('deal', 'stage', seeded.globex, deal, 'won');
  cli(laptop, 'sync');

  const end = new Date(to + 'T00:00:00Z');
  end.setUTCDate(end.getUTCDate() + 1);
  const knownAt = end.toISOString().replace(/\.\d+Z$/, 'Z');
  const period = { from, to };
  const late = await api('/v1/reports/late-edits', Object.assign({ limit: 100 }, period));
  assert.ok(late.rows.some((r) => r.deal_id === deal && r.won_delta_minor === 500000), JSON.stringify(late.rows));
  const then = await api('/v1/reports/win-rate', Object.assign({ known_at: knownAt }, period));
  const current = await api('/v1/reports/win-rate', period);
  assert.equal(Number(current.rows[0].won), Number(then.rows[0].won) + 1, 'the late win counts now, not as known then');

  await signedIn(`?period=custom&from=${from}&to=${to}`);
  await loadedWith('overview', period);
  await page.waitForSelector('[data-testid="known-card"]:not([hidden]) [data-testid="known-table"]');
  assert.equal(await page.getAttribute('[data-testid="known-card"]', 'data-known-at'), knownAt);
  const figure = async (key) => {
    const row = page.locator(`[data-testid="known-table"] tr[data-figure="${key}"]`);
    return [Number(await row.getAttribute('data-then')), Number(await row.getAttribute('data-now'))];
  };
  assert.deepEqual(await figure('won'), [Number(then.rows[0].won), Number(current.rows[0].won)]);
  assert.deepEqual(await figure('lost'), [Number(then.rows[0].lost), Number(current.rows[0].lost)]);
  // The late edits behind it, as the API lists them; the win's row carries its effect.
  assert.equal(await page.locator('[data-testid="late-table"] tbody tr').count(), late.rows.length);
  assert.equal(Number(await page.getAttribute('[data-testid="late-edits"]', 'data-total')), late.total);
  const lateCsv = fs.readFileSync(await downloaded('#late-csv', 'late-edits.csv'), 'utf8');
  assert.equal(lateCsv.slice(1).trim().split(/\r?\n/).length, late.total + 1, 'every late edit of the period, with a header');
  assert.ok(lateCsv.includes('5000.00'), 'the won amount moved, in major units');
  const win = page.locator('[data-testid="late-table"] tbody tr[data-won-delta="500000"]');
  assert.equal(await win.count(), 1);
  assert.match(await win.textContent(), /late-laptop/);
  // From a late edit to the account's history, which shows when each change was made and received.
  await win.locator('button[data-account]').click();
  await page.waitForSelector(`[data-testid="history-table"][data-account="${seeded.globex}"] tbody tr`);
  const received = await page.$$eval('[data-testid="history-table"] td[data-received]', (tds) => tds.map((t) => t.dataset.received));
  const history = await api(`/v1/reports/accounts/${seeded.globex}/history`);
  assert.deepEqual(received, [...history.changes].reverse().map((c) => c.received || ''));
  assert.ok(history.changes.some((c) => c.received && Date.parse(c.received) - Date.parse(c.at) > 86400000),
    'the late changes were received days after they were made');

  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-known-then-now.png'), fullPage: true });
  await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const axe = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious.map((v) => v.id + ': ' + v.nodes.map((n) => n.target).join(' ')), []);

  // An open period has nothing to compare: the card stays hidden.
  await signedIn('?period=month');
  assert.equal(await page.locator('[data-testid="known-card"]').isHidden(), true);
  assert.deepEqual(pageErrors, []);
});
