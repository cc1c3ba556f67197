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

const ROOT = path.resolve(__dirname, '..', '..');
const SERVER_BIN = path.join(ROOT, 'target', 'debug', 'rapport-server');
const CLI_BIN = path.join(ROOT, 'target', 'debug', 'rapport');
const ARTIFACTS = path.join(ROOT, 'artifacts');
const TOKEN = 'web-test-admin-token-0123456789abcdef-0123';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-quic', '--disable-component-update', '--disable-sync',
];

let tmp, server, url, context, page;
const consoleErrors = [];

function cli(replica, ...args) {
  const out = execFileSync(CLI_BIN, ['--replica', replica, ...args], { encoding: 'utf8', timeout: 30000 });
  const lines = out.trim().split('\n');
  return lines[lines.length - 1].trim();
}

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
  seeded = { acme, globex, big, small, third };

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

  // Figures equal the JSON API's for the same (empty) filters.
  const pipeline = await api('/v1/reports/pipeline');
  assert.deepEqual(await pageWeighted(), apiWeighted(pipeline));
  assert.equal(pipeline.rows[0].weighted_minor, 120000 * 0.5 + 45000 * 0.5 + 80000 * 0.8);
  const stages = await api('/v1/reports/stages');
  assert.deepEqual(await pageStages(), apiStages(stages));
  assert.equal(await page.getAttribute('[data-stage="proposal"]', 'data-count'), '2');
  // The bars follow the value (one currency here): the widths are in the
  // ratio of the stages' amounts, not of their counts.
  assert.equal(await page.getAttribute('[data-stage="proposal"]', 'data-bar-by'), 'value');
  const barWidth = async (stage) => Number(await page.getAttribute(`[data-stage="${stage}"] rect`, 'width'));
  const amountOf = (stage) => stages.rows.filter((r) => r.stage === stage).reduce((sum, r) => sum + Number(r.amount_minor), 0);
  const stageNames = stages.rows.map((r) => r.stage);
  for (const stage of stageNames) {
    const expected = amountOf(stage) / Math.max(...stageNames.map(amountOf));
    assert.ok(Math.abs((await barWidth(stage)) / 380 - expected) < 0.01, `${stage}: ${await barWidth(stage)}`);
  }
  const activity = await api('/v1/reports/rep-activity');
  for (const row of activity.rows) {
    const n = await page.getAttribute(`#activity [data-rep="${row.rep}"][data-kind="${row.kind}"]`, 'data-count');
    assert.ok(Number(n) >= row.interactions);
  }
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
  const conflictPager = '[data-testid="open-conflicts-pager"]';
  assert.equal(await page.getAttribute(conflictPager, 'data-total'), String(conflicts.total));

  // A filter goes to the API: a territory with no accounts shows no deals.
  await page.fill('#f-territory', 'nowhere');
  await page.click('#apply-filters');
  await page.waitForSelector('#weighted-value [data-minor="0"]');
  assert.deepEqual((await api('/v1/reports/pipeline', { territory: 'nowhere' })).rows, []);
  assert.equal(await page.locator('#funnel [data-stage]').count(), 0);
  // The filter is in the URL: a reload (or a shared link) shows the same view.
  assert.equal(new URL(page.url()).searchParams.get('territory'), 'nowhere');
  await page.reload();
  await page.waitForSelector('#weighted-value [data-minor="0"]');
  assert.equal(await page.inputValue('#f-territory'), 'nowhere');
  assert.equal(await page.locator('#funnel [data-stage]').count(), 0);
  await page.click('#clear-filters');
  await page.waitForSelector('#funnel [data-stage="proposal"]');
  assert.equal(new URL(page.url()).searchParams.get('territory'), null);

  // Drill down: the accounts behind a stage, then an account's history.
  await page.click('[data-stage="proposal"]');
  await page.waitForSelector('[data-testid="drill-list"][data-stage="proposal"] li');
  const names = await page.$$eval('[data-testid="drill-list"] li [data-account]', (bs) => bs.map((b) => b.textContent));
  assert.deepEqual(names.sort(), ['Acme Tools', 'Globex Foods']);
  await page.click(`[data-testid="drill-list"] [data-account="${seeded.acme}"]`);
  await page.waitForSelector(`[data-testid="history-table"][data-account="${seeded.acme}"] tbody tr`);
  const history = await api(`/v1/reports/accounts/${seeded.acme}/history`);
  assert.equal(await page.locator('[data-testid="history-table"] tbody tr').count(), history.changes.length);
  // From the conflicts table to the account's history, which shows both devices' edits.
  await page.click(`[data-testid="drill-list"] [data-account="${seeded.globex}"]`);
  await page.waitForSelector(`[data-testid="history-table"][data-account="${seeded.globex}"] tbody tr`);
  await page.click(`#open-conflicts [data-account="${seeded.acme}"]`);
  await page.waitForSelector(`[data-testid="history-table"][data-account="${seeded.acme}"] tbody tr`);
  const devices = await page.$$eval('[data-testid="history-table"] tbody tr td:nth-child(3)', (tds) => tds.map((t) => t.textContent));
  assert.ok(devices.includes('laptop') && devices.includes('phone'), devices.join(','));
  // Each change in words, with the value before and after it.
  const websites = await page.$$eval('[data-testid="history-table"] li[data-field="party.website"]', (lis) =>
    lis.map((li) => [li.querySelector('.field').textContent, li.querySelector('.old').textContent, li.querySelector('.new').textContent]));
  assert.deepEqual(websites.map((w) => w[0]), ['Website', 'Website'], JSON.stringify(websites));
  assert.deepEqual(websites.map((w) => w[2]).sort(), ['acme-tools.example', 'acme.example']);
  const apiWebsites = history.changes.flatMap((c) => c.changes).filter((c) => c.field === 'party.website');
  assert.deepEqual(apiWebsites.map((c) => c.new).sort(), ['acme-tools.example', 'acme.example']);

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
  const fresh = await api('/v1/reports/pipeline');
  assert.equal(after, fresh.rows[0].weighted_minor);
  assert.equal(after, 45000 * 0.5 + 80000 * 0.8);
  await until('the won stage', async () => (await page.getAttribute('[data-stage="won"]', 'data-count')) === '1');
  assert.deepEqual(await pageStages(), apiStages(await api('/v1/reports/stages')));
  // The open drill-down followed too.
  await until('the drill-down to follow', async () =>
    (await page.locator('[data-testid="drill-list"][data-stage="proposal"] li').count()) === 1);

  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });

  // The tablet layout keeps every card on screen without horizontal scrolling.
  await page.setViewportSize({ width: 1024, height: 768 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, 'no horizontal scroll at 1024 px');
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-tablet.png'), fullPage: true });

  // The tablet resolves the conflict; it leaves the table without reload.
  cli(b, 'account', 'set', seeded.acme, 'party.website', 'acme.example');
  cli(b, 'sync');
  await until('the conflict to leave', async () =>
    (await page.locator('#open-conflicts tbody tr[data-field]').count()) === 0);
  assert.deepEqual((await api('/v1/reports/open-conflicts')).rows, []);
  assert.equal(await page.evaluate(() => window.__sameDocument), marker, 'no reload');
  assert.deepEqual(consoleErrors.filter((e) => /Content.Security.Policy/i.test(e)), [], 'nothing blocked by the CSP');
});

test('the dashboard speaks Ukrainian and Russian, with their formats and stage names', async () => {
  await page.setViewportSize({ width: 1366, height: 768 });
  // Chosen in the URL (the token is still in this tab's session storage).
  await page.goto(url + '/?lang=uk');
  await page.waitForSelector('#weighted-value [data-currency]');
  assert.equal(await page.getAttribute('html', 'lang'), 'uk');
  assert.equal((await page.textContent('#weighted-title')).trim(), 'Зважена воронка');
  assert.equal((await page.textContent('[data-stage="proposal"] text')).trim(), 'Пропозиція');
  // Money and numbers in the Ukrainian format: a comma before the decimals.
  const weighted = (await page.textContent('#weighted-value [data-currency]')).trim();
  assert.match(weighted, /^\d{1,3}(\s\d{3})*,\d{2}\s(€|EUR)$/u, weighted);
  assert.match(await page.textContent('#live-status'), /наживо|опитування/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-uk.png'), fullPage: true });

  // Switched on the page: Russian, kept for the next visit.
  await page.selectOption('#lang', 'ru');
  await until('the page in Russian', async () => (await page.textContent('#weighted-title')).trim() === 'Взвешенная воронка');
  await until('the funnel in Russian', async () =>
    (await page.textContent('[data-stage="proposal"] text')).trim() === 'Предложение');
  assert.equal(await page.getAttribute('html', 'lang'), 'ru');
  assert.match(page.url(), /lang=ru/);
  await page.goto(url + '/');
  await page.waitForSelector('#weighted-value [data-currency]');
  assert.equal((await page.textContent('#ladder-title')).trim(), 'Лестница лояльности');
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
  assert.deepEqual(consoleErrors.filter((e) => /Content.Security.Policy/i.test(e)), [], 'nothing blocked by the CSP');
});
