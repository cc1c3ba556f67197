// Browser test of the desktop app's office work (`rapport app`, ADR 0024):
// a real rapport-server, a field device driven by the real `rapport` CLI,
// and the office worker's page in headless Chromium. The worker reassigns
// ten accounts of a filtered list at once (names from the server's
// directory, a typo refused), sets a registration code on the card, finds
// the likely duplicates with their reasons and merges one pair into the
// account chosen to keep; the field device sees it all after a sync. In
// English, Ukrainian and Russian; axe-core finds no serious problem.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {
  cli, startServer, stop, until, accessibilityProblems: axeOn, openApp,
  cliJson, adminPost, deviceToken, listedNames: shownNames, screenshot: screenshotOf,
} = require('./support');

const TOKEN = 'office-test-admin-token-0123456789abcdef';

let tmp, server, serverUrl, app, appLink, context, page;
let office, field;
const ids = {};
const consoleErrors = [];
const admin = (pathname, body) => adminPost(serverUrl, TOKEN, pathname, body);
const listedNames = () => shownNames(page);
const screenshot = (name) => screenshotOf(page, name);

async function openAccount(name) {
  const renders = await page.$eval('#card', (c) => Number(c.dataset.renders || 0));
  await page.click(`[data-testid=account-list] button:text-is("${name}")`);
  await page.waitForFunction(([n, r]) => document.getElementById('card-title').textContent === n
    && Number(document.getElementById('card').dataset.renders) > r, [name, renders]);
}

async function filterByTag(tag) {
  await page.fill('#f-tag', tag);
  await page.click('#search button[type=submit]');
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-office-web-'));
  ({ child: server, url: serverUrl } = await startServer(path.join(tmp, 'data'), TOKEN));
  await admin('/v1/admin/teams', { name: 'east' });
  await admin('/v1/admin/users', { name: 'mia', role: 'rep', device: 'mia-phone', teams: ['east'], territories: ['UA-46'] });

  office = path.join(tmp, 'office');
  field = path.join(tmp, 'field');
  cli(office, 'init', '--server', serverUrl, '--token', await deviceToken(serverUrl, TOKEN, 'office-pc'));
  cli(field, 'init', '--server', serverUrl, '--token', await deviceToken(serverUrl, TOKEN, 'field-laptop'));
  ids.kyiv = [];
  for (let i = 0; i < 10; i++) {
    const id = cli(field, 'account', 'add', '--name', `Київ ${String(i).padStart(2, '0')}`, '--owner', 'admin');
    cli(field, 'tag', 'add', id, 'kyiv');
    ids.kyiv.push(id);
  }
  ids.other = cli(field, 'account', 'add', '--name', 'Lviv Trade', '--owner', 'admin');
  ids.ua = cli(field, 'account', 'add', '--name', 'ТОВ «Ромашка»', '--owner', 'admin');
  ids.ru = cli(field, 'account', 'add', '--name', 'Ромашка, ООО', '--owner', 'admin');
  ids.agro = cli(field, 'account', 'add', '--name', 'Agro One', '--owner', 'admin');
  ids.agro2 = cli(field, 'account', 'add', '--name', 'Агро Один', '--owner', 'admin');
  cli(field, 'account', 'set', ids.agro, 'party.registration_code', '3214 5678');
  cli(field, 'sync');
  cli(office, 'sync'); // the accounts and the directory (mia, east, UA-46)

  ({ app, link: appLink, context, page } = await openApp(office, tmp, consoleErrors));
  await page.goto(appLink);
  await page.waitForSelector('[data-testid=account-list] button:text-is("Agro One")');
  await page.waitForSelector('[data-testid=reassign-form]');
});

after(async () => {
  if (context) await context.close();
  await stop(app);
  await stop(server);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('ten accounts of the filtered list are reassigned at once after a preview; a typo is refused', async () => {
  await filterByTag('kyiv');
  await until('the filtered list', async () => (await listedNames()).length === 10);

  // A typo of the owner: the directory's close name is offered, nothing changes.
  await page.fill('[data-testid=reassign-owner]', 'mai');
  await page.click('[data-testid=reassign-preview-button]');
  await page.waitForSelector('[data-testid=error]:has-text("did you mean mia?")');
  assert.equal(await page.$('[data-testid=reassign-apply]'), null);
  // The browser logs the refusal's 400; nothing else went wrong.
  assert.deepEqual(consoleErrors.splice(0), ['Failed to load resource: the server responded with a status of 400 (Bad Request)']);

  // The names the directory offers are there to pick.
  const offered = await page.$$eval('#office-users option', (os) => os.map((o) => o.value));
  assert.ok(offered.includes('mia'), offered.join(', '));
  await page.fill('[data-testid=reassign-owner]', 'mia');
  await page.fill('[data-testid=reassign-team]', 'east');
  await page.click('[data-testid=reassign-preview-button]');
  await page.waitForSelector('[data-testid=reassign-count][data-count="10"]');
  assert.equal(await page.textContent('[data-testid=reassign-count]'), '10 of 10 matching accounts would change:');
  const lines = await page.$$eval('[data-testid=reassign-changes] li', (ls) => ls.map((l) => l.textContent));
  assert.equal(lines.length, 10);
  assert.equal(lines[0], 'Київ 00 · Owner: admin → mia, Team: — → east');
  assert.equal(await page.textContent('[data-testid=reassign-apply]'), 'Reassign 10 accounts');
  // The preview wrote nothing.
  assert.equal(cliJson(office, 'account', 'list', '--owner', 'mia', '--json').length, 0);
  await screenshot('office-reassign-preview.png');

  await page.click('[data-testid=reassign-apply]');
  await page.waitForSelector('[data-testid=message]:text("10 accounts reassigned; they are sent with the next sync.")');
  await page.fill('#f-tag', '');
  await page.fill('#f-owner', 'mia');
  await page.click('#search button[type=submit]');
  await until('the reassigned list', async () => (await listedNames()).length === 10);
  await page.fill('#f-owner', '');
  await page.click('#search button[type=submit]');

  // The app pushes them; the field device gets all ten with its next sync.
  await until('the field device sees the reassignment', async () => {
    cli(field, 'sync');
    return cliJson(field, 'account', 'list', '--owner', 'mia', '--json').length === 10;
  });
  assert.equal(cliJson(field, 'account', 'list', '--team', 'east', '--json').length, 10);
  assert.equal(cliJson(field, 'account', 'show', ids.other, '--json').account.party.owner, 'admin');
});

test('a registration code on the card; duplicates with their reasons; a merge into the account chosen to keep', async () => {
  await page.waitForSelector('[data-testid=account-list] button:text-is("Агро Один")');
  await openAccount('Agro One');
  assert.equal(await page.inputValue('[data-testid=registration-code]'), '3214 5678');
  await openAccount('Агро Один');
  await page.fill('[data-testid=registration-code]', '32145678');
  await page.press('[data-testid=registration-code]', 'Tab');
  await page.waitForSelector('[data-testid=message]:text("Saved.")');

  await page.click('[data-testid=tab-office]');
  await until('two groups', async () => (await page.$$('[data-testid=duplicate-group]')).length === 2);
  const legends = await page.$$eval('[data-testid=duplicate-group] legend', (ls) => ls.map((l) => l.textContent));
  assert.deepEqual(legends, ['same registration code 32145678', 'same name “ромашка”']);
  assert.equal(await page.isVisible('#view-accounts'), false);
  await screenshot('office-duplicates.png');

  // By keyboard: choose the second account of the name group and merge.
  const group = page.locator('[data-testid=duplicate-group]').nth(1);
  const keepNames = await group.locator('tbody label').allTextContents();
  assert.deepEqual([...keepNames].sort(), ['Ромашка, ООО', 'ТОВ «Ромашка»'].sort());
  await group.locator('[data-testid=keep]').nth(0).focus();
  await page.keyboard.press('ArrowDown');
  assert.equal(await group.locator('[data-testid=keep]').nth(1).isChecked(), true);
  const survivorId = await group.locator('[data-testid=keep]').nth(1).inputValue();
  await group.locator('[data-testid=merge]').focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector(`[data-testid=message]:text("1 account merged into ${keepNames[1]}.")`);
  await until('one group left', async () => (await page.$$('[data-testid=duplicate-group]')).length === 1);

  const duplicateId = survivorId === ids.ua ? ids.ru : ids.ua;
  await page.click('[data-testid=tab-accounts]');
  await until('the duplicate leaves the list', async () => !(await listedNames()).includes(keepNames[0]));
  await until('the field device sees the merge and the code', async () => {
    cli(field, 'sync');
    return cliJson(field, 'account', 'show', duplicateId, '--json').account.merged_into === survivorId;
  });
  assert.equal(cliJson(field, 'account', 'show', ids.agro2, '--json').account.party.registration_code, '32145678');
  assert.equal(cliJson(field, 'account', 'duplicates', '--json').length, 1);
});

test('no serious accessibility problems in the office views', async () => {
  await page.fill('[data-testid=reassign-owner]', 'admin');
  await page.click('[data-testid=reassign-preview-button]');
  await page.waitForSelector('[data-testid=reassign-apply]');
  assert.deepEqual(await axeOn(page), []);
  await page.click('[data-testid=tab-office]');
  await page.waitForSelector('[data-testid=duplicate-group]');
  assert.deepEqual(await axeOn(page), []);
});

test('the office views speak Ukrainian and Russian', async () => {
  await page.selectOption('[data-testid=lang]', 'uk');
  await until('Ukrainian', async () => (await page.textContent('[data-testid=tab-office]')) === 'Дублікати');
  // The groups are drawn again in the new language: wait for that drawing,
  // not for the one already on the page.
  await until('the groups in Ukrainian', async () => {
    const legends = await page.$$('[data-testid=duplicate-group] legend');
    return legends.length === 1 && (await legends[0].textContent()) === 'однаковий реєстраційний код 32145678';
  });
  assert.equal(await page.textContent('#office-title'), 'Можливі дублікати');
  assert.equal(await page.textContent('[data-testid=duplicate-group] [data-testid=merge]'), 'Об’єднати інших з обраним');
  await screenshot('office-uk.png');
  await page.click('[data-testid=tab-accounts]');
  assert.equal(await page.textContent('#reassign-title'), 'Передати клієнтів зі списку');
  await filterByTag('kyiv');
  await until('the filtered list', async () => (await listedNames()).length === 10);
  await page.fill('[data-testid=reassign-owner]', 'admin');
  await page.click('[data-testid=reassign-preview-button]');
  await page.waitForSelector('[data-testid=reassign-count][data-count="10"]');
  assert.equal(await page.textContent('[data-testid=reassign-count]'), 'Зміниться 10 з 10 клієнтів:');
  assert.equal(await page.textContent('[data-testid=reassign-apply]'), 'Передати 10 клієнтів');

  await page.selectOption('[data-testid=lang]', 'ru');
  await until('Russian', async () => (await page.textContent('[data-testid=tab-office]')) === 'Дубликаты');
  assert.equal(await page.textContent('#reassign-title'), 'Передать клиентов из списка');
  await page.fill('[data-testid=reassign-owner]', 'admin');
  await page.click('[data-testid=reassign-preview-button]');
  await page.waitForSelector('[data-testid=reassign-count][data-count="10"]');
  assert.equal(await page.textContent('[data-testid=reassign-count]'), 'Изменятся 10 из 10 клиентов:');
  await page.click('[data-testid=reassign-apply]');
  await page.waitForSelector('[data-testid=message]:text("Передано 10 клиентов; изменения отправятся при следующей синхронизации.")');
  await page.click('[data-testid=tab-office]');
  await until('the Russian reason', async () =>
    (await page.textContent('[data-testid=duplicate-group] legend')) === 'одинаковый регистрационный код 32145678');
  await screenshot('office-ru.png');
  await page.selectOption('[data-testid=lang]', 'en');
  assert.deepEqual(consoleErrors, []);
});

test('the app stops cleanly', async () => {
  assert.equal(await stop(app), 0);
  app = null;
});
