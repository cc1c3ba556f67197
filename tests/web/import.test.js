// Browser test of CSV import in the desktop app (`rapport app`, docs/CSV.md):
// a real rapport-server, a field device driven by the real `rapport` CLI,
// and the office worker's page in headless Chromium. The worker chooses a
// semicolon-separated Windows-1251 file as Excel saves "CSV" in a Ukrainian
// (or Russian) locale, with a contact (name, job title, phone, e-mail) and a
// deal, and one row with the registration code of an account already here;
// the preview shows the encoding, the counts and the duplicate (linked to the
// account); the import writes it, the new account and its contact appear in
// the list and the card, and the field device gets them with its next sync.
// A row with an error keeps the Import button disabled. In English (by
// keyboard only), Ukrainian and Russian; axe-core finds no serious problem.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {
  cli, startServer, stop, until, accessibilityProblems: axeOn, openApp,
  cliJson, deviceToken, listedNames: shownNames, screenshot: screenshotOf,
} = require('./support');

const TOKEN = 'import-test-admin-token-0123456789abcdef';

let tmp, server, serverUrl, app, appLink, context, page;
let office, field;
const ids = {};
const consoleErrors = [];
const listedNames = () => shownNames(page);
const screenshot = (name) => screenshotOf(page, name);

// --- Windows-1251, as Excel writes it --------------------------------------

// The Cyrillic letters outside А..я (U+0410..U+044F = 0xC0..0xFF) and the
// punctuation the files use, in Windows-1251.
const CP1251_EXTRA = {
  'Ё': 0xa8, 'ё': 0xb8, 'Є': 0xaa, 'є': 0xba, 'І': 0xb2, 'і': 0xb3, 'Ї': 0xaf, 'ї': 0xbf, 'Ґ': 0xa5, 'ґ': 0xb4,
  '«': 0xab, '»': 0xbb, '№': 0xb9, '’': 0x92,
};

/** Text as Windows-1251 bytes with CRLF line ends (no byte-order mark: Excel's plain "CSV"). */
function cp1251(text) {
  const bytes = [];
  for (const ch of text.replace(/\n/g, '\r\n')) {
    const code = ch.codePointAt(0);
    if (code < 0x80) bytes.push(code);
    else if (code >= 0x410 && code <= 0x44f) bytes.push(code - 0x410 + 0xc0);
    else if (CP1251_EXTRA[ch] !== undefined) bytes.push(CP1251_EXTRA[ch]);
    else throw new Error('not in the test\'s Windows-1251 table: ' + ch);
  }
  return Buffer.from(bytes);
}

// One file per language: its header in that language, a new account with a
// contact and a deal, and a row with the registration code of an account
// already on the device (`existing`) under another name and city.
const FILES = {
  en: {
    header: 'Назва;Місто;ЄДРПОУ;Контактна особа;Посада;Телефон;E-mail;Угода;Сума;Валюта',
    account: 'ТОВ Світанок', city: 'Харків', code: '55554444', contact: 'Оксана Коваль', title: 'Менеджерка з закупівель',
    phone: '+380 57 700 11 22', email: 'oksana@svitanok.ua', deal: 'Поставка насіння', amount: '125 000,00',
    dup: 'Зоря-Південь', dupCity: 'Одеса', dupCode: '1234 5678', existing: 'ТОВ Зоря', existingCode: '12345678',
  },
  uk: {
    header: 'Назва;Місто;ЄДРПОУ;Контактна особа;Посада;Телефон;E-mail;Угода;Сума;Валюта',
    account: 'ПП Їжачок', city: 'Житомир', code: '66667777', contact: 'Ґанна Єрмак', title: 'Головна бухгалтерка',
    phone: '+380 41 222 33 44', email: 'hanna@yizhachok.ua', deal: 'Обслуговування', amount: '48 500,00',
    dup: 'Зірка-Захід', dupCity: 'Ужгород', dupCode: '2345 6789', existing: 'ТОВ Зірка', existingCode: '23456789',
  },
  ru: {
    header: 'Название;Город;ИНН;Контактное лицо;Должность;Телефон;E-mail;Сделка;Сумма;Валюта',
    account: 'ООО Рассвет', city: 'Днепр', code: '88889999', contact: 'Пётр Соколов', title: 'Директор по закупкам',
    phone: '+380 56 789 00 11', email: 'petr@rassvet.ua', deal: 'Поставка удобрений', amount: '210 000,00',
    dup: 'Заря-Восток', dupCity: 'Харьков', dupCode: '3456 7890', existing: 'ООО Заря', existingCode: '34567890',
  },
};

function fileOf(f) {
  return cp1251([
    f.header,
    [f.account, f.city, f.code, f.contact, f.title, f.phone, f.email, f.deal, f.amount, 'UAH'].join(';'),
    [f.dup, f.dupCity, f.dupCode, '', '', '', '', '', '', ''].join(';'),
    '',
  ].join('\n'));
}

// What the page says, per language (words.js).
const SAYS = {
  en: {
    tab: 'Import', encoding: 'Windows-1251 (Cyrillic)', delimiter: 'separated by semicolons',
    accounts: 'Accounts: 2 new, 0 to update, 0 unchanged', contacts: 'Contacts: 1 new, 0 to update, 0 unchanged',
    deals: 'Deals: 1 new, 0 to update, 0 unchanged', duplicates: '1 possible duplicate', same: 'registration code',
    ready: 'No errors: ready to import.',
    imported: 'Imported: 2 accounts, 1 contacts and 1 deals created or updated; they are sent with the next sync.',
  },
  uk: {
    tab: 'Імпорт', encoding: 'Windows-1251 (кирилиця)', delimiter: 'розділювач — крапка з комою',
    accounts: 'Клієнти: нових: 2, оновити: 0, без змін: 0', contacts: 'Контакти: нових: 1, оновити: 0, без змін: 0',
    deals: 'Угоди: нових: 1, оновити: 0, без змін: 0', duplicates: '1 можливий дублікат', same: 'реєстраційний код',
    ready: 'Помилок немає: можна імпортувати.',
    imported: 'Імпортовано: створено або оновлено клієнтів — 2, контактів — 1, угод — 1; зміни надішлються з наступною синхронізацією.',
  },
  ru: {
    tab: 'Импорт', encoding: 'Windows-1251 (кириллица)', delimiter: 'разделитель — точка с запятой',
    accounts: 'Клиенты: новых: 2, обновить: 0, без изменений: 0', contacts: 'Контакты: новых: 1, обновить: 0, без изменений: 0',
    deals: 'Сделки: новых: 1, обновить: 0, без изменений: 0', duplicates: '1 возможный дубликат', same: 'регистрационный код',
    ready: 'Ошибок нет: можно импортировать.',
    imported: 'Импортировано: создано или обновлено клиентов — 2, контактов — 1, сделок — 1; изменения отправятся при следующей синхронизации.',
  },
};

async function text(selector) {
  return (await page.textContent(selector)).trim();
}

/** Presses Tab until `selector` has the focus (at most `max` times); fails if it never does. */
async function tabTo(selector, max = 40) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error('Tab never reached ' + selector);
}

function fileNamed(name, buffer) {
  return { name, mimeType: 'text/csv', buffer };
}

/** Checks what the preview of `f` says in the page's language. */
async function checkPreview(lang, f) {
  const says = SAYS[lang];
  await page.waitForSelector('[data-testid=import-apply]');
  const read = page.locator('[data-testid=import-files] li');
  assert.equal(await read.getAttribute('data-encoding'), 'windows-1251');
  assert.equal(await read.getAttribute('data-delimiter'), 'semicolon');
  const line = await read.textContent();
  assert.ok(line.includes(says.encoding) && line.includes(says.delimiter), line);
  assert.equal(await text('[data-testid=import-count-accounts]'), says.accounts);
  assert.equal(await text('[data-testid=import-count-contacts]'), says.contacts);
  assert.equal(await text('[data-testid=import-count-deals]'), says.deals);
  assert.equal(await text('[data-testid=import-duplicates] caption'), says.duplicates);
  const dup = page.locator('[data-testid=import-duplicates] tbody tr');
  assert.equal(await dup.count(), 1);
  assert.equal(await dup.getAttribute('data-same'), 'registration_code');
  assert.equal(await dup.getAttribute('data-row'), '3');
  assert.equal((await dup.locator('td').nth(2).textContent()).trim(), says.same);
  assert.equal(await text('[data-testid=import-duplicate-account]'), f.existing);
  assert.equal(await page.getAttribute('[data-testid=import-duplicate-account]', 'data-id'), ids[lang]);
  assert.equal(await page.$('[data-testid=import-errors]'), null);
  assert.equal(await page.isDisabled('[data-testid=import-apply]'), false);
  assert.equal(await text('[data-testid=import-result]'), says.ready);
  // The preview wrote nothing.
  assert.ok(!(await listedNames()).includes(f.account));
  assert.ok(!cliJson(office, 'account', 'list', '--json').some((a) => a.name === f.account));
}

/** After the import: the result, the list, the card with the contact, and the field device. */
async function checkImported(lang, f) {
  await page.waitForSelector('[data-testid=import-result]:text-is("' + SAYS[lang].imported + '")');
  assert.equal(await page.$('[data-testid=import-apply]'), null);
  await page.click('[data-testid=tab-accounts]');
  await until('the new account in the list', async () => (await listedNames()).includes(f.account));
  const renders = await page.$eval('#card', (c) => Number(c.dataset.renders || 0));
  await page.click(`[data-testid=account-list] button:text-is("${f.account}")`);
  await page.waitForFunction(([n, r]) => document.getElementById('card-title').textContent === n
    && Number(document.getElementById('card').dataset.renders) > r, [f.account, renders]);
  const contacts = await page.$$eval('[data-testid=contact] input[data-field$=".name"]', (is) => is.map((i) => i.value));
  assert.deepEqual(contacts, [f.contact]);
  const id = cliJson(office, 'account', 'list', '--json').find((a) => a.name === f.account).id;
  const shown = cliJson(office, 'account', 'show', id, '--json').account;
  assert.equal(shown.party.registration_code, f.code);
  assert.equal(shown.contacts[0].job_title, f.title);
  assert.deepEqual(shown.contacts[0].emails, [f.email]);
  assert.equal(shown.deals[0].title, f.deal);
  // The app pushes the import; the field device gets it with its next sync.
  await until('the field device sees the import', async () => {
    cli(field, 'sync');
    return cliJson(field, 'account', 'list', '--json').some((a) => a.name === f.account);
  });
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rapport-import-web-'));
  ({ child: server, url: serverUrl } = await startServer(path.join(tmp, 'data'), TOKEN));

  office = path.join(tmp, 'office');
  field = path.join(tmp, 'field');
  cli(office, 'init', '--server', serverUrl, '--token', await deviceToken(serverUrl, TOKEN, 'office-pc'));
  cli(field, 'init', '--server', serverUrl, '--token', await deviceToken(serverUrl, TOKEN, 'field-laptop'));
  for (const lang of Object.keys(FILES)) {
    const f = FILES[lang];
    ids[lang] = cli(field, 'account', 'add', '--name', f.existing, '--owner', 'admin');
    cli(field, 'account', 'set', ids[lang], 'party.registration_code', f.existingCode);
  }
  cli(field, 'sync');
  cli(office, 'sync');

  ({ app, link: appLink, context, page } = await openApp(office, tmp, consoleErrors));
  await page.goto(appLink);
  await page.waitForSelector('[data-testid=account-list] button:text-is("ТОВ Зоря")');
});

after(async () => {
  if (context) await context.close();
  await stop(app);
  await stop(server);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('by keyboard only: an Excel file in Windows-1251 is previewed with its duplicate, imported, and listed', async () => {
  const f = FILES.en;
  // The Import tab, by Tab and Enter.
  await page.focus('[data-testid=tab-accounts]');
  await tabTo('[data-testid=tab-import]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#view-import:not([hidden])');
  assert.equal(await page.isVisible('#view-accounts'), false);
  assert.equal(await text('#import-title'), 'Import from CSV');
  // The file input, reached by Tab; the chooser is playwright's (a person picks the file there).
  await tabTo('[data-testid=import-accounts]');
  await page.setInputFiles('[data-testid=import-accounts]', fileNamed('clients.csv', fileOf(f)));
  await tabTo('[data-testid=import-preview-button]');
  await page.keyboard.press('Enter');
  await checkPreview('en', f);
  await screenshot('import-preview.png');
  assert.deepEqual(await axeOn(page), []);

  // Import, by Tab and Space.
  await page.focus('[data-testid=import-preview-button]');
  await tabTo('[data-testid=import-apply]');
  await page.keyboard.press('Space');
  await checkImported('en', f);
  await screenshot('import-done.png');

  // The duplicate's link opens the account that was already here.
  await page.click('[data-testid=tab-import]');
  await page.setInputFiles('[data-testid=import-accounts]', fileNamed('again.csv', fileOf(f)));
  await page.click('[data-testid=import-preview-button]');
  await page.waitForSelector('[data-testid=import-apply]');
  // The same file again: nothing new.
  assert.equal(await text('[data-testid=import-count-accounts]'), 'Accounts: 0 new, 0 to update, 2 unchanged');
  assert.equal(await text('[data-testid=import-count-contacts]'), 'Contacts: 0 new, 0 to update, 1 unchanged');
  await page.focus('[data-testid=import-duplicate-account]');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('card-title').textContent === 'ТОВ Зоря');
  assert.equal(await page.isVisible('#view-import'), false);
  assert.equal(await page.isVisible('#view-accounts'), true);
});

test('a row with an error is listed with its column and reason, and the Import button stays disabled', async () => {
  await page.click('[data-testid=tab-import]');
  const bad = cp1251('Назва;Місто;Угода;Сума;Валюта;Дата закриття\nТОВ Помилка;Суми;Ремонт;1000,00;UAH;колись\n');
  await page.setInputFiles('[data-testid=import-accounts]', fileNamed('bad.csv', bad));
  await page.click('[data-testid=import-preview-button]');
  await page.waitForSelector('[data-testid=import-errors]');
  const row = page.locator('[data-testid=import-errors] tbody tr');
  assert.equal(await row.count(), 1);
  assert.equal(await row.getAttribute('data-code'), 'expected_date');
  const cells = (await row.locator('td').allTextContents()).map((c) => c.trim());
  assert.deepEqual(cells, ['accounts', '2', 'Дата закриття', 'Expected a date as 2026-12-31 or 31.12.2026.']);
  assert.equal(await page.isDisabled('[data-testid=import-apply]'), true);
  assert.equal(await text('[data-testid=import-result]'), '1 row has an error: fix it before importing.');
  assert.deepEqual(await axeOn(page), []);
  assert.ok(!cliJson(office, 'account', 'list', '--json').some((a) => a.name === 'ТОВ Помилка'));

  await page.selectOption('[data-testid=lang]', 'uk');
  await until('the error in Ukrainian', async () => (await row.locator('td').nth(3).textContent()).trim()
    === 'Очікується дата у вигляді 31.12.2026 або 2026-12-31.');
  await page.selectOption('[data-testid=lang]', 'ru');
  await until('the error in Russian', async () => (await row.locator('td').nth(3).textContent()).trim()
    === 'Ожидается дата в виде 31.12.2026 или 2026-12-31.');
  await page.selectOption('[data-testid=lang]', 'en');
});

for (const lang of ['uk', 'ru']) {
  test(`the same import with the page in ${lang === 'uk' ? 'Ukrainian' : 'Russian'}`, async () => {
    const f = FILES[lang];
    await page.selectOption('[data-testid=lang]', lang);
    await until('the language', async () => (await text('[data-testid=tab-import]')) === SAYS[lang].tab);
    await page.click('[data-testid=tab-import]');
    await page.setInputFiles('[data-testid=import-accounts]', fileNamed('clients-' + lang + '.csv', fileOf(f)));
    await page.click('[data-testid=import-preview-button]');
    await checkPreview(lang, f);
    await screenshot(`import-${lang}.png`);
    assert.deepEqual(await axeOn(page), []);
    await page.click('[data-testid=import-apply]');
    await checkImported(lang, f);
    await page.selectOption('[data-testid=lang]', 'en');
  });
}

test('no unexpected errors in the console; the app stops cleanly', async () => {
  assert.deepEqual(consoleErrors.filter((e) => !e.includes('status of 4')), []);
  assert.equal(await stop(app), 0);
  app = null;
});
