// Browser test of the desktop app (`rapport app`): a real rapport-server,
// real replicas driven by the real `rapport` CLI as other devices, and the
// app's page in headless Chromium on the office worker's replica.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {
  CLI_BIN, cli, cliJson, deviceToken, spawnUntil, startServer, stop, until, accessibilityProblems: axeOn, openApp,
  screenshot: screenshotOf,
} = require('./support');

const TOKEN = 'desktop-test-admin-token-0123456789abcdef';

let tmp, dataDir, server, serverUrl, app, appLink, appBase, context, page;
let office, field, phone;
const ids = {};
const consoleErrors = [];
const screenshot = (name) => screenshotOf(page, name);

/** The account as `rapport account show --json` prints it on `replica`. */
function showJson(replica, id) {
  return cliJson(replica, 'account', 'show', id, '--json').account;
}

const newDevice = (name) => deviceToken(serverUrl, TOKEN, name);
const restartServer = (listen) => startServer(dataDir, TOKEN, listen);

async function status() {
  return page.$eval('[data-testid=sync-status]', (n) => ({
    online: n.dataset.online === 'true', unsent: Number(n.dataset.unsent), text: n.textContent,
  }));
}

// Opens an account's card and waits for it to be drawn (not the card shown before).
async function openAccount(name) {
  const renders = await page.$eval('#card', (c) => Number(c.dataset.renders || 0));
  await page.click(`[data-testid=account-list] button:text-is("${name}")`);
  await page.waitForFunction(([n, r]) => document.getElementById('card-title').textContent === n
    && Number(document.getElementById('card').dataset.renders) > r, [name, renders]);
}

// Runs `action` (an edit) and waits until the card it answers is drawn.
async function rendered(action) {
  const renders = await page.$eval('#card', (c) => Number(c.dataset.renders || 0));
  await action();
  await page.waitForFunction((r) => Number(document.getElementById('card').dataset.renders) > r, renders);
}

// Runs `action` (a settings change) and waits until the settings it answers are drawn.
async function settingsRendered(action) {
  const renders = await page.$eval('#settings', (c) => Number(c.dataset.renders || 0));
  await action();
  await page.waitForFunction((r) => Number(document.getElementById('settings').dataset.renders) > r, renders);
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-desktop-web-'));
  dataDir = path.join(tmp, 'data');
  ({ child: server, url: serverUrl } = await restartServer('127.0.0.1:0'));

  office = path.join(tmp, 'office');
  field = path.join(tmp, 'field');
  phone = path.join(tmp, 'phone');
  cli(office, 'init', '--server', serverUrl, '--token', await newDevice('office-pc'));
  cli(field, 'init', '--server', serverUrl, '--token', await newDevice('field-laptop'));
  cli(phone, 'init', '--server', serverUrl, '--token', await newDevice('field-phone'));
  ids.romashka = cli(field, 'account', 'add', '--name', 'Ромашка', '--owner', 'admin');
  ids.acme = cli(field, 'account', 'add', '--name', 'Acme Tools', '--owner', 'admin');
  cli(field, 'account', 'set', ids.acme, 'party.address.city', 'Tampere');
  cli(field, 'sync');
  cli(phone, 'sync');
  cli(office, 'sync');

  ({ app, link: appLink, base: appBase, context, page } = await openApp(office, tmp, consoleErrors));
});

after(async () => {
  if (context) await context.close();
  await stop(app);
  await stop(server);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the one-time link signs the browser in, once; the API refuses everyone else', async () => {
  assert.ok(appBase.startsWith('http://127.0.0.1:'), appBase);
  // Before the link: no cookie, no data.
  let res = await fetch(appBase + '/api/accounts');
  assert.equal(res.status, 401);
  assert.equal((await res.json()).error.code, 'unauthorized');
  res = await fetch(appBase + '/open?secret=' + '0'.repeat(64), { redirect: 'manual' });
  assert.equal(res.status, 401);

  const answer = await page.goto(appLink);
  assert.equal(new URL(page.url()).pathname, '/');
  assert.equal(answer.status(), 200);
  assert.match(answer.headers()['content-security-policy'], /script-src 'self'/);
  assert.match(answer.headers()['content-security-policy'], /frame-ancestors 'none'/);
  assert.equal(answer.headers()['x-content-type-options'], 'nosniff');
  assert.equal(answer.headers()['referrer-policy'], 'no-referrer');
  const [cookie] = await context.cookies(appBase);
  assert.equal(cookie.name, 'rapport_session_' + new URL(appBase).port, 'named with the port: two apps in one browser keep their sessions');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');

  // The link is spent: opening it again (another browser, or this history) gets nothing.
  res = await fetch(appLink, { redirect: 'manual' });
  assert.equal(res.status, 401);
  assert.equal((await res.json()).error.code, 'secret_refused');

  await page.waitForSelector('[data-testid=account-list] button:text-is("Acme Tools")');
  await until('online', async () => (await status()).online);
});

test('search by another word form, edit a field and add a contact: the server gets them', async () => {
  await page.fill('[data-testid=search]', 'Ромашки');
  await until('the search result', async () => {
    const names = await page.$$eval('[data-testid=account-list] tbody button', (bs) => bs.map((b) => b.textContent));
    return names.length === 1 && names[0] === 'Ромашка';
  });
  await page.fill('[data-testid=search]', '');
  await page.waitForSelector('[data-testid=account-list] button:text-is("Acme Tools")');
  await openAccount('Acme Tools');
  assert.equal(await page.inputValue('[data-testid=address-city]'), 'Tampere');

  await page.fill('[data-testid=address-city]', 'Lviv');
  await page.press('[data-testid=address-city]', 'Tab');
  await page.waitForSelector('[data-testid=message]:text("Saved.")');

  await page.fill('[data-testid=add-contact] [name=name]', 'Olena Petrenko');
  await page.fill('[data-testid=add-contact] [name=job_title]', 'Buyer');
  await page.fill('[data-testid=add-contact] [name=phone]', '+380 44 123 4567');
  await page.click('[data-testid=add-contact] button[type=submit]');
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=contact] input[data-field$=".name"]')]
    .some((i) => i.value === 'Olena Petrenko'));

  // A refusal: no more newsletters by e-mail.
  await page.fill('[data-testid=add-consent] [name=topic]', 'newsletter');
  await page.fill('[data-testid=add-consent] [name=reason]', 'asked on the phone');
  await page.click('[data-testid=add-consent] button[type=submit]');
  await page.waitForSelector('[data-testid=consents] li[data-channel=email][data-status=refused]');

  // Pushed in the background: another device pulls both.
  await until('the edits sent', async () => (await status()).unsent === 0);
  cli(field, 'sync');
  const acme = showJson(field, ids.acme);
  assert.equal(acme.party.address.city, 'Lviv');
  assert.deepEqual(acme.contacts.map((c) => [c.name, c.job_title, c.phones.length]), [['Olena Petrenko', 'Buyer', 1]]);
  assert.deepEqual(acme.contacts[0].consents.map((k) => [k.channel, k.topic, k.status, k.reason]),
    [['email', 'newsletter', 'refused', 'asked on the phone']]);
});

test('a field rep\'s edit arrives without a reload; a conflict is resolved with one click', async () => {
  cli(field, 'account', 'set', ids.acme, 'party.industry', 'Machine tools');
  cli(field, 'sync');
  await until('the live update', async () =>
    (await page.inputValue('[data-field="party.industry"]')) === 'Machine tools');

  // Two devices write the website without seeing each other's edit.
  cli(phone, 'sync');
  cli(field, 'account', 'set', ids.acme, 'party.website', 'acme.example');
  cli(phone, 'account', 'set', ids.acme, 'party.website', 'acme-tools.example');
  cli(field, 'sync');
  cli(phone, 'sync');
  await page.click('[data-testid=tab-conflicts]');
  const pick = '[data-testid=conflicts] [data-field="party.website"] button[data-value="acme-tools.example"]';
  await until('the conflict', async () => {
    await page.click('[data-testid=tab-conflicts]');
    return (await page.$(pick)) !== null;
  });
  await page.click(pick);
  await page.waitForSelector('[data-testid=conflicts] p.muted');
  await until('the choice sent', async () => (await status()).unsent === 0);
  cli(field, 'sync');
  assert.equal(showJson(field, ids.acme).party.website, 'acme-tools.example');
  await page.click('[data-testid=tab-accounts]');
});

test('deals, interactions, tasks and the history, from the card', async () => {
  await openAccount('Acme Tools');
  const deal = '[data-testid=add-deal]';
  await page.fill(deal + ' [name=title]', 'Fleet renewal');
  await page.fill(deal + ' [name=amount]', '360 000,50');
  await page.click(deal + ' button[type=submit]');
  await page.waitForSelector('[data-testid=deal] td:text-is("Fleet renewal")');
  await page.selectOption('[data-testid=deal] [data-testid=deal-stage]', 'proposal');
  await page.waitForFunction(() => document.querySelector('[data-testid=deal] [data-testid=deal-stage]').value === 'proposal');
  await page.click('[data-testid=deal] [data-testid=deal-lost] button[type=submit]');
  await page.waitForSelector('[data-testid=deal] td:has-text("lost (")');

  const log = '[data-testid=log-interaction]';
  await page.fill(log + ' [name=subject]', 'Intro call');
  await page.click(log + ' button[type=submit]');
  await page.waitForSelector('[data-testid=interactions] li.held:has-text("Intro call")');
  await page.fill(log + ' [name=subject]', 'Site visit');
  await page.selectOption(log + ' [name=kind]', 'visit');
  await page.selectOption(log + ' [name=status]', 'planned');
  await page.fill(log + ' [name=when]', '2027-01-15T09:30');
  await page.click(log + ' button[type=submit]');
  await page.waitForSelector('[data-testid=interactions] li.planned:has-text("Site visit")');

  await page.fill('[data-testid=add-task] [name=title]', 'Send the offer');
  await page.fill('[data-testid=add-task] [name=due]', '2026-12-31');
  await page.click('[data-testid=add-task] button[type=submit]');
  await page.click('[data-testid=tasks] li.todo button');
  await page.waitForSelector('[data-testid=tasks] li.done:has-text("Send the offer")');

  await page.click('[data-testid=show-history]');
  await page.waitForSelector('[data-testid=history] li[data-field="party.address.city"] .old:text-is("Tampere")');
  assert.equal(await page.textContent('[data-testid=history] li[data-field="party.address.city"] .new'), 'Lviv');

  await page.selectOption('[data-testid=move-rung] [name=to]', 'customer');
  await page.fill('[data-testid=move-rung] [name=reason]', 'first order');
  await page.click('[data-testid=move-rung] button[type=submit]');
  await page.waitForSelector('[data-testid=rung-history] li:has-text("first order")');
  await page.selectOption('[data-testid=end-relationship] [name=reason]', 'switched_supplier');
  await page.click('[data-testid=end-relationship] button[type=submit]');
  await page.waitForSelector('[data-testid=ending]:has-text("switched supplier")');
  await page.click('[data-testid=reopen]');
  await page.waitForSelector('[data-testid=end-relationship]');

  await until('everything sent', async () => (await status()).unsent === 0);
  cli(field, 'sync');
  const acme = showJson(field, ids.acme);
  assert.deepEqual(acme.ladder_history.map((m) => [m.to, m.reason]), [['customer', 'first order']]);
  assert.deepEqual([acme.party.status, acme.party.ending], ['active', null]);
  const d = acme.deals.find((x) => x.title === 'Fleet renewal');
  assert.deepEqual([d.amount.minor, d.outcome, d.stage_history.length], [36000050, 'lost', 3]);
  assert.deepEqual(acme.interactions.map((i) => [i.subject, i.status]).sort(), [['Intro call', 'held'], ['Site visit', 'planned']]);
  assert.deepEqual(acme.tasks.map((t) => [t.title, t.due, t.status]), [['Send the offer', '2026-12-31', 'done']]);
});

test('roles, demographics, buying habits, a tie, notes typed on two devices, and the account as it was', async () => {
  await openAccount('Acme Tools');
  // The lost deal of the test before shows its reason by name, not its id.
  await page.waitForSelector('[data-testid=deal] td:has-text("lost (Competitor)")');

  await rendered(() => page.check('[data-testid=roles] input[data-role=supplier]'));
  await page.waitForSelector('[data-testid=roles] input[data-role=supplier]:checked');

  const demo = '[data-testid=add-demographics]';
  await page.fill(demo + ' [name=key]', 'employees');
  await page.fill(demo + ' [name=value]', '120');
  await rendered(() => page.click(demo + ' button[type=submit]'));
  await page.waitForSelector('[data-testid=demographics] li[data-key=employees]');
  assert.equal(await page.inputValue('[data-testid=demographics] li[data-key=employees] input'), '120');
  const habits = '[data-testid=add-buying_habits]';
  for (const [k, v] of [['orders', 'quarterly'], ['pays', 'on time']]) {
    await page.fill(habits + ' [name=key]', k);
    await page.fill(habits + ' [name=value]', v);
    await rendered(() => page.click(habits + ' button[type=submit]'));
    await page.waitForSelector(`[data-testid=buying_habits] li[data-key="${k}"]`);
  }
  await rendered(() => page.click('[data-testid=buying_habits] li[data-key=pays] button.chip-x'));
  await page.waitForSelector('[data-testid=buying_habits] li[data-key=pays]', { state: 'detached' });

  // A group tie to another account, chosen by its name.
  await page.focus('[data-testid=tie-to]');
  await page.waitForSelector(`[data-testid=tie-to] option[value="${ids.romashka}"]`, { state: 'attached' });
  await page.selectOption('[data-testid=tie-to]', ids.romashka);
  await page.selectOption('[data-testid=add-tie] [name=kind]', 'group');
  await page.fill('[data-testid=add-tie] [name=role]', 'member');
  await rendered(() => page.click('[data-testid=add-tie] button[type=submit]'));
  await page.waitForSelector('[data-testid=ties] li[data-kind=group]:has-text("Ромашка")');

  // Notes: typed here while a field rep's sentence arrives; both stay.
  await page.fill('[data-testid=notes]', 'Met the buyer.');
  await rendered(() => page.press('[data-testid=notes]', 'Tab'));
  assert.equal(await page.inputValue('[data-testid=notes]'), 'Met the buyer.');
  await until('the notes sent', async () => (await status()).unsent === 0);
  await page.focus('[data-testid=notes]');
  cli(field, 'sync');
  cli(field, 'notes', 'set', ids.acme, 'Met the buyer. Call back in May.');
  cli(field, 'sync');
  await until('the rep\'s notes in the replica', async () => page.evaluate(async (id) =>
    (await (await fetch('/api/accounts/' + id)).json()).account.party.notes.includes('May'), ids.acme));
  // The card waits while the worker types; her text is still the one she saw.
  assert.equal(await page.inputValue('[data-testid=notes]'), 'Met the buyer.');
  await page.keyboard.press('Control+Home');
  await page.keyboard.type('Important: ');
  await page.keyboard.press('Tab');
  await page.waitForFunction(() => document.querySelector('[data-testid=notes]').value === 'Important: Met the buyer. Call back in May.');

  await until('everything sent', async () => (await status()).unsent === 0);
  cli(field, 'sync');
  const acme = showJson(field, ids.acme);
  assert.deepEqual(acme.party.roles, ['customer', 'supplier']);
  assert.deepEqual(acme.party.demographics, { employees: '120' });
  assert.deepEqual(acme.party.buying_habits, { orders: 'quarterly' });
  assert.deepEqual(acme.ties.map((t) => [t.from, t.to, t.kind, t.role]), [[ids.acme, ids.romashka, 'group', 'member']]);
  assert.equal(acme.party.notes, 'Important: Met the buyer. Call back in May.');

  // The account right after the role was added: supplier, but no demographics or notes yet.
  await page.click('[data-testid=show-history]');
  await page.click('[data-testid=history] li[data-op="account.add_role"] [data-testid=show-then]');
  const then = '[data-testid=account-then]';
  await page.waitForSelector(then);
  const shown = await page.$$eval(then + ' dt', (dts) => Object.fromEntries(dts.map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
  assert.equal(shown.Roles, 'customer, supplier');
  assert.equal(shown.Demographics, '—');
  assert.equal(shown.Notes, '—');
  assert.equal(shown.City, undefined);
  assert.match(shown.Address, /Lviv/);
  assert.equal(await page.$$eval(then + ' input, ' + then + ' textarea, ' + then + ' select', (n) => n.length), 0, 'read-only');
  await screenshot('desktop-earlier.png');
  await page.click('[data-testid=close-then]');
  await page.waitForSelector(then, { state: 'detached' });
});

test('the settings editor: stages with probabilities and stale thresholds, reason catalogues', async () => {
  await page.click('[data-testid=tab-settings]');
  const row = '[data-testid=stages] tr[data-stage=proposal]';
  await page.waitForSelector(row);
  assert.equal(await page.isHidden('[data-testid=settings-readonly]'), true, 'the admin may change them');
  await page.fill(row + ' [name=name]', 'Offer');
  await page.fill(row + ' [name=probability]', '55');
  await page.fill(row + ' [name=stale_after_days]', '10');
  await settingsRendered(() => page.click(row + ' [data-testid=save-stage]'));
  assert.equal(await page.inputValue(row + ' [name=probability]'), '55');

  await page.fill('[data-testid=add-stage] [name=id]', 'demo');
  await page.fill('[data-testid=add-stage] [name=name]', 'Demo');
  await page.fill('[data-testid=add-stage] [name=probability]', '30');
  await settingsRendered(() => page.click('[data-testid=add-stage] button[type=submit]'));
  await page.waitForSelector('[data-testid=stages] tr[data-stage=demo]');

  await page.fill('[data-testid=add-reason-lost] [name=reason]', 'too_slow');
  await settingsRendered(() => page.click('[data-testid=add-reason-lost] button[type=submit]'));
  await page.waitForSelector('[data-testid=reasons-lost] li[data-reason=too_slow]');
  // A reason taken out of the catalogue is no longer offered.
  await page.fill('[data-testid=add-reason-lost] [name=reason]', 'obsolete');
  await settingsRendered(() => page.click('[data-testid=add-reason-lost] button[type=submit]'));
  await page.waitForSelector('[data-testid=reasons-lost] li[data-reason=obsolete]');
  await settingsRendered(() => page.click('[data-testid=reasons-lost] li[data-reason=obsolete] [data-testid=remove-reason]'));
  assert.equal(await page.locator('[data-testid=reasons-lost] li[data-reason=obsolete]').count(), 0);
  // Catalogue reasons by their names, in the user's language.
  assert.equal(await page.textContent('[data-testid=reasons-lost] li[data-reason=no_budget] .name'), 'No budget');
  assert.equal(await page.textContent('[data-testid=reasons-end] li[data-reason=switched_supplier] .name'), 'switched supplier');
  await page.selectOption('[data-testid=lang]', 'uk');
  await page.waitForFunction(() => document.querySelector('[data-testid=reasons-lost] li[data-reason=no_budget] .name').textContent === 'Немає бюджету');
  await page.selectOption('[data-testid=lang]', 'ru');
  await page.waitForFunction(() => document.querySelector('[data-testid=reasons-lost] li[data-reason=no_budget] .name').textContent === 'Нет бюджета');
  await screenshot('desktop-settings-ru.png');
  // The renamed stage is shown by its new name on the card, in Russian too; the others translated.
  await page.click('[data-testid=tab-accounts]');
  await openAccount('Acme Tools');
  const stages = await page.$$eval('[data-testid=add-deal] [name=stage] option', (os) => os.map((o) => o.textContent));
  assert.ok(stages.includes('Offer') && stages.includes('Переговоры'), stages.join(', '));
  await page.selectOption('[data-testid=lang]', 'en');
  await page.click('[data-testid=tab-settings]');

  await until('the settings sent', async () => (await status()).unsent === 0);
  cli(field, 'sync');
  const s = cliJson(field, 'settings', 'show', '--json');
  const proposal = s.stages.find((x) => x.id === 'proposal');
  assert.deepEqual([proposal.name, proposal.probability, proposal.stale_after_days], ['Offer', 55, 10]);
  assert.ok(s.stages.some((x) => x.id === 'demo' && x.probability === 30));
  assert.ok(s.lost_reasons.includes('too_slow'));

  // Another administrator's change arrives on the open view without a reload.
  await page.click('[data-testid=tab-settings]');
  cli(field, 'settings', 'stage', 'negotiation', '--probability', '85');
  cli(field, 'sync');
  await until('the other change', async () =>
    (await page.inputValue('[data-testid=stages] tr[data-stage=negotiation] [name=probability]')) === '85');
  await page.click('[data-testid=tab-accounts]');
});

test('a rep\'s app shows the settings read-only', async () => {
  const res = await fetch(`${serverUrl}/v1/admin/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'rita', role: 'rep', teams: [], territories: [] }),
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  const rita = path.join(tmp, 'rita');
  cli(rita, 'init', '--server', serverUrl, '--token', JSON.parse(body).token);
  // Before her first sync the device does not know her role: the change is
  // made here, and the server refuses it.
  cli(rita, 'settings', 'reason', 'add', 'lost', 'cheaper_elsewhere');
  try { cli(rita, 'sync'); } catch (_) { /* the refusal is reported; the app lists it */ }
  const started = await spawnUntil(CLI_BIN, ['--replica', rita, 'app', '--no-open'], {},
    /(http:\/\/127\.0\.0\.1:\d+)\/open\?secret=[0-9a-f]{64}/, 'rita\'s rapport app');
  const repPage = await context.newPage();
  try {
    // Cookies are not kept apart by port: on another host name (which the
    // app accepts) her session does not replace the office worker's.
    await repPage.goto(started.match[0].replace('127.0.0.1', 'localhost'));
    await repPage.click('[data-testid=tab-settings]');
    await repPage.waitForSelector('[data-testid=stages] tr[data-stage=proposal]');
    assert.equal(await repPage.isVisible('[data-testid=settings-readonly]'), true);
    // The admin's changes arrived with her sync; she sees them and cannot change them.
    assert.equal(await repPage.inputValue('[data-testid=stages] tr[data-stage=proposal] [name=name]'), 'Offer');
    assert.equal(await repPage.isDisabled('[data-testid=stages] tr[data-stage=proposal] [name=probability]'), true);
    assert.equal(await repPage.$$eval('[data-testid=save-stage], [data-testid=add-stage], [data-testid^=add-reason]', (n) => n.length), 0);
    assert.equal(await repPage.textContent('[data-testid=reasons-lost] li[data-reason=price] .name'), 'Price');
    await repPage.click('[data-testid=tab-refused]');
    await repPage.waitForSelector('[data-testid=refused-settings]:has-text("role rep may not change the settings")');
    assert.equal(await repPage.textContent('#refused-count'), '1');
    // Sending it again as a rep is refused on the device; she discards it,
    // and the settings are the server's again.
    await repPage.click('[data-testid=refused-settings] button:has-text("Retry")');
    await repPage.waitForSelector('[data-testid=error]:has-text("role rep may not change the settings")');
    await repPage.click('[data-testid=refused-settings] button:has-text("Discard")');
    await repPage.waitForSelector('#refused p.muted');
    await repPage.waitForSelector('#refused-count', { state: 'hidden' });
    await repPage.click('[data-testid=tab-settings]');
    await repPage.waitForSelector('[data-testid=reasons-lost] li[data-reason=price]');
    assert.equal(await repPage.$$eval('[data-testid=reasons-lost] li[data-reason=cheaper_elsewhere]', (n) => n.length), 0);
  } finally {
    await repPage.close();
    assert.equal(await stop(started.child), 0);
  }
});

test('offline: edits are kept and counted; when the server is back they arrive', async () => {
  const port = new URL(serverUrl).port;
  await stop(server);
  await until('offline', async () => !(await status()).online);

  await openAccount('Acme Tools');
  await page.fill('[data-testid=party-name]', 'Acme Tools Oy');
  await page.press('[data-testid=party-name]', 'Tab');
  await page.waitForSelector('[data-testid=message]:text("Saved.")');
  await until('one unsent change', async () => (await status()).unsent === 1);
  assert.match((await status()).text, /Offline · 1 change not sent yet/);
  await screenshot('desktop-offline.png');

  ({ child: server } = await restartServer('127.0.0.1:' + port));
  await until('back online with everything sent', async () => {
    const s = await status();
    return s.online && s.unsent === 0;
  }, 30000);
  cli(field, 'sync');
  assert.equal(showJson(field, ids.acme).party.name, 'Acme Tools Oy');
});

// axe-core's serious and critical findings on the page as it is now. The
// script runs through the DevTools protocol, so the page's CSP stays as served.
test('no serious accessibility problems; every action is a control the keyboard reaches', async () => {
  await openAccount('Acme Tools Oy');
  assert.deepEqual(await axeOn(page), []);
  await page.click('[data-testid=tab-conflicts]');
  assert.deepEqual(await axeOn(page), []);
  await page.click('[data-testid=tab-refused]');
  assert.deepEqual(await axeOn(page), []);
  await page.click('[data-testid=tab-settings]');
  await page.waitForSelector('[data-testid=stages] tr[data-stage=proposal]');
  assert.deepEqual(await axeOn(page), []);
  await page.click('[data-testid=tab-accounts]');
  // The keyboard alone: focus the search box, type, and open the account with Enter.
  await page.focus('[data-testid=search]');
  await page.keyboard.type('Acme');
  await page.waitForSelector('[data-testid=account-list] tbody tr:only-child button:text-is("Acme Tools Oy")');
  // Owner, tag, status, "with conflicts", Find, then the account's name.
  for (let i = 0; i < 6; i++) await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Acme Tools Oy');
  await page.click('[data-testid=tab-refused]');
  await page.click('[data-testid=tab-accounts]');
  const renders = await page.$eval('#card', (c) => Number(c.dataset.renders));
  await page.focus('[data-testid=account-list] button:text-is("Acme Tools Oy")');
  await page.keyboard.press('Enter');
  await page.waitForFunction((r) => Number(document.getElementById('card').dataset.renders) > r, renders);
  // Tab from the name field reaches the next field and saves nothing unchanged.
  await page.focus('[data-testid=party-name]');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.field), 'party.industry');
  await page.fill('[data-testid=search]', '');
});

test('the page speaks Ukrainian and Russian', async () => {
  await page.selectOption('[data-testid=lang]', 'uk');
  await until('Ukrainian', async () => /Онлайн/.test((await status()).text));
  assert.equal(await page.textContent('[data-testid=tab-accounts]'), 'Клієнти');
  await screenshot('desktop-uk.png');
  await page.selectOption('[data-testid=lang]', 'ru');
  await until('Russian', async () => /Онлайн/.test((await status()).text));
  assert.equal(await page.textContent('[data-testid=tab-accounts]'), 'Клиенты');
  await page.selectOption('[data-testid=lang]', 'en');
  await screenshot('desktop.png');
  assert.deepEqual(consoleErrors, []);
});

test('the app stops cleanly while the page is still open', async () => {
  assert.equal(await stop(app), 0);
  app = null;
});
