// Rapport desktop app: the Import view (docs/CSV.md, "In the desktop app").
// The worker chooses an accounts file (and optionally contacts and deals
// files), sees the preview the server planned (each file's encoding and
// delimiter, the counts, the rows with errors, the duplicates found, with
// links to the existing accounts), then imports: the Import button stays
// disabled while any row has an error. Row errors come as codes with their
// arguments and are said in the page's language (words.js). Built with DOM
// calls (no HTML from data).
'use strict';

(function () {
  const I18n = window.RapportI18n;
  const t = I18n.t;
  const $ = (id) => document.getElementById(id);
  const { el, api, openAccount } = window.RapportApp;

  let files = null; // the previewed files: { accounts, contacts?, deals? } as base64
  let shown = null; // the last preview or result, to render again after a language change

  function showError(message) {
    $('error').textContent = message || '';
    $('error').hidden = !message;
  }

  // A file's bytes as base64 (in chunks: a large file would overflow the
  // argument list of String.fromCharCode).
  async function base64(file) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary);
  }

  async function chosenFiles() {
    const out = {};
    for (const name of ['accounts', 'contacts', 'deals']) {
      const input = $('import-' + name);
      if (input.files && input.files[0]) out[name] = await base64(input.files[0]);
    }
    return out;
  }

  // --- rendering ---------------------------------------------------------------

  function fileName(kind) {
    return t('import.file.' + kind);
  }

  // A row error in the page's language: its code and arguments, and the
  // column as the file names it.
  function problemText(e) {
    const key = 'import.error.' + e.code;
    const args = Object.assign({}, e.args || {}, { column: e.column || '' });
    // An owner, team or territory: said as the card names the field.
    if (args.kind) args.kind = t('field.' + args.kind);
    const text = I18n.MESSAGES.en[key] === undefined ? e.message : t(key, args);
    return e.suggestions && e.suggestions.length ? text + ' ' + t('import.suggestions', { names: e.suggestions.join(', ') }) : text;
  }

  function table(testid, caption, heads, rows) {
    return el('table', { class: 'rows', 'data-testid': testid },
      el('caption', {}, caption),
      el('thead', {}, el('tr', {}, heads.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, rows));
  }

  function errorsTable(errors) {
    return table('import-errors', t('import.errors', { n: errors.length }),
      [t('import.col.file'), t('import.col.row'), t('import.col.column'), t('import.col.problem')],
      errors.map((e) => el('tr', { 'data-code': e.code, 'data-row': e.row },
        el('td', {}, fileName(e.file)),
        el('td', { class: 'num' }, I18n.number(e.row)),
        el('td', {}, e.column || '—'),
        el('td', {}, problemText(e)))));
  }

  function duplicatesTable(duplicates) {
    return table('import-duplicates', t('import.duplicates', { n: duplicates.length }),
      [t('import.col.file'), t('import.col.row'), t('import.col.same'), t('import.col.like')],
      duplicates.map((d) => el('tr', { 'data-same': d.same, 'data-row': d.row },
        el('td', {}, fileName(d.file)),
        el('td', { class: 'num' }, I18n.number(d.row)),
        el('td', {}, t('import.same.' + d.same)),
        el('td', {}, d.account
          ? el('button', { type: 'button', class: 'link', 'data-testid': 'import-duplicate-account', 'data-id': d.account.id,
            onclick: () => openAccount(d.account.id) }, d.account.name)
          : t('import.other-row', { file: fileName(d.other_row.file), row: d.other_row.row })))));
  }

  function countsList(counts, written) {
    const line = (kind) => {
      const c = counts[kind];
      return el('li', { 'data-testid': 'import-count-' + kind, 'data-created': c.created, 'data-updated': c.updated },
        t('import.count.' + kind) + ': ' + t(written ? 'import.counts.done' : 'import.counts.plan',
          { created: c.created, updated: c.updated, unchanged: c.unchanged }));
    };
    return el('ul', { class: 'log', 'data-testid': 'import-counts' }, ['accounts', 'contacts', 'deals'].map(line));
  }

  function filesList(read) {
    return el('ul', { class: 'log', 'data-testid': 'import-files' }, read.map((f) =>
      el('li', { 'data-file': f.file, 'data-encoding': f.encoding, 'data-delimiter': f.delimiter },
        t('import.read', { file: fileName(f.file), encoding: t('import.encoding.' + f.encoding),
          delimiter: t('import.delimiter.' + f.delimiter), n: f.rows }))));
  }

  function render() {
    const box = $('import-preview');
    if (!shown) { box.replaceChildren(); return; }
    const { answer, refused } = shown;
    const parts = [];
    if (answer) {
      parts.push(el('h3', {}, t(answer.written ? 'import.done-title' : 'import.preview-title')));
      parts.push(filesList(answer.files));
      parts.push(countsList(answer.counts, answer.written));
    }
    const errors = refused || (answer ? answer.errors : []);
    if (errors.length) {
      parts.push(el('p', { class: 'hint' }, t('import.fix')));
      parts.push(errorsTable(errors));
    }
    if (answer && answer.duplicates.length) {
      parts.push(el('p', { class: 'hint' }, t('import.duplicates.hint')));
      parts.push(duplicatesTable(answer.duplicates));
    }
    if (answer && !answer.written) {
      parts.push(el('button', { type: 'button', 'data-testid': 'import-apply', disabled: errors.length > 0, onclick: apply },
        t('import.apply')));
    }
    box.replaceChildren(...parts);
  }

  function result(message) {
    $('import-result').textContent = message || '';
  }

  // --- actions -----------------------------------------------------------------

  async function preview(e) {
    e.preventDefault();
    result('');
    shown = null;
    files = null;
    render();
    try {
      const chosen = await chosenFiles();
      if (!chosen.accounts) { showError(t('import.need-file')); return; }
      const answer = await api('/import/preview', chosen);
      showError('');
      files = chosen;
      shown = { answer };
      render();
      result(answer.errors.length ? t('import.has-errors', { n: answer.errors.length }) : t('import.ready'));
    } catch (err) {
      if (err.rows && err.rows.length) {
        shown = { refused: err.rows };
        render();
      }
      showError(err.message);
    }
  }

  async function apply() {
    if (!files) return;
    const button = document.querySelector('[data-testid=import-apply]');
    if (button) button.disabled = true;
    try {
      const answer = await api('/import', files);
      showError('');
      files = null;
      shown = { answer };
      render();
      const c = answer.counts;
      result(t('import.imported', { accounts: c.accounts.created + c.accounts.updated,
        contacts: c.contacts.created + c.contacts.updated, deals: c.deals.created + c.deals.updated }));
      $('search').requestSubmit(); // the list shows the new accounts
    } catch (err) {
      if (err.rows && err.rows.length) {
        shown = { answer: shown && shown.answer, refused: err.rows };
        render();
      } else if (button) {
        button.disabled = false;
      }
      showError(err.message);
    }
  }

  // --- start -------------------------------------------------------------------

  function start() {
    $('import-form').addEventListener('submit', preview);
    for (const name of ['accounts', 'contacts', 'deals']) {
      // Another file: the preview no longer says what would be imported.
      $('import-' + name).addEventListener('change', () => { files = null; shown = null; render(); result(''); });
    }
    for (const b of document.querySelectorAll('.tab')) {
      b.addEventListener('click', () => { $('view-import').hidden = b.dataset.view !== 'import'; });
    }
    // After app.js re-translated the page.
    $('lang').addEventListener('change', () => setTimeout(render, 0));
  }

  start();
})();
