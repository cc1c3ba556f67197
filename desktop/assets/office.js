// Rapport desktop app: office work on the customer base (ADR 0024).
// - Under the account list: reassign every account the list's filters match
//   to another owner, team or territory (names from the server's directory),
//   after a preview that says how many change and how.
// - The "Duplicates" view: groups of likely duplicate accounts, each with why
//   (same registration code, e-mail, phone or name), and a merge into the
//   account the worker chooses to keep.
// It reads the list's filter form (#search) as app.js sends it, and asks
// app.js to refresh the list by submitting that form. Built with DOM calls
// (no HTML from data).
'use strict';

(function () {
  const I18n = window.RapportI18n;
  const t = I18n.t;
  const $ = (id) => document.getElementById(id);

  let directory = { fetched: false, users: [], teams: [], territories: [] };
  let planned = null; // the previewed reassignment: { filter, names, count }

  const { el, api } = window.RapportApp;

  function say(message) {
    $('message').textContent = message;
    $('message').hidden = !message;
    showError('');
  }

  function showError(message) {
    $('error').textContent = message || '';
    $('error').hidden = !message;
  }

  // The list's filters as app.js sends them (every named field of #search).
  function listFilter() {
    const filter = {};
    for (const field of $('search').elements) {
      if (!field.name) continue;
      if (field.type === 'checkbox') { if (field.checked) filter[field.name] = 'true'; } else if (field.value.trim()) {
        filter[field.name] = field.value.trim();
      }
    }
    return filter;
  }

  function refreshList() {
    $('search').requestSubmit();
  }

  // --- bulk reassignment -----------------------------------------------------

  function datalist(id, names) {
    return el('datalist', { id }, names.map((n) => el('option', { value: n })));
  }

  function reassignPanel() {
    const input = (name, key, list) => el('label', {},
      el('span', {}, t(key)),
      el('input', { name, type: 'text', list, spellcheck: 'false', autocomplete: 'off', 'data-testid': 'reassign-' + name }));
    return el('section', { class: 'part', id: 'office-reassign', 'data-testid': 'reassign', 'aria-labelledby': 'reassign-title' },
      el('h3', { id: 'reassign-title' }, t('office.reassign.title')),
      el('p', { class: 'hint' }, t('office.reassign.hint')),
      datalist('office-users', directory.users),
      datalist('office-teams', directory.teams),
      datalist('office-territories', directory.territories),
      el('form', { class: 'filters', 'data-testid': 'reassign-form', autocomplete: 'off', onsubmit: preview },
        input('owner', 'field.owner', 'office-users'),
        input('team', 'field.team', 'office-teams'),
        input('territory', 'field.territory', 'office-territories'),
        el('button', { type: 'submit', class: 'secondary', 'data-testid': 'reassign-preview-button' }, t('office.preview'))),
      el('div', { id: 'reassign-preview', 'data-testid': 'reassign-preview', 'aria-live': 'polite' }));
  }

  function names() {
    const form = document.querySelector('[data-testid=reassign-form]');
    const out = {};
    for (const k of ['owner', 'team', 'territory']) {
      const v = form.elements[k].value.trim();
      if (v) out[k] = v;
    }
    return out;
  }

  function changeText(c) {
    return t('field.' + c.field) + ': ' + (c.from || '—') + ' → ' + c.to;
  }

  async function preview(e) {
    e.preventDefault();
    const box = $('reassign-preview');
    planned = null;
    box.replaceChildren();
    const to = names();
    if (!Object.keys(to).length) { showError(t('office.need-name')); return; }
    const filter = listFilter();
    try {
      const answer = await api('/office/reassign', { filter, ...to, dry_run: true });
      showError('');
      const n = answer.changes.length;
      if (!n) {
        box.replaceChildren(el('p', { 'data-testid': 'reassign-count' }, t('office.nothing', { n: answer.matched })));
        return;
      }
      planned = { filter, to, count: n };
      box.replaceChildren(
        el('p', { 'data-testid': 'reassign-count', 'data-count': n }, t('office.would-change', { n, m: answer.matched })),
        el('ul', { class: 'log', 'data-testid': 'reassign-changes' }, answer.changes.map((a) =>
          el('li', { 'data-id': a.id }, a.name + ' · ' + a.changes.map(changeText).join(', ')))),
        el('button', { type: 'button', 'data-testid': 'reassign-apply', onclick: apply }, t('office.apply', { n })));
    } catch (err) {
      showError(err.message);
    }
  }

  async function apply() {
    if (!planned) return;
    const { filter, to } = planned;
    try {
      const answer = await api('/office/reassign', { filter, ...to, dry_run: false });
      planned = null;
      $('reassign-preview').replaceChildren();
      document.querySelector('[data-testid=reassign-form]').reset();
      say(t('office.reassigned', { n: answer.changed }));
      refreshList();
    } catch (err) {
      showError(err.message);
    }
  }

  // --- duplicates ------------------------------------------------------------

  function reasonText(k) {
    return t('office.reason.' + k.reason, { value: k.value });
  }

  function groupItem(g, i) {
    const radio = 'survivor-' + i;
    return el('li', { 'data-testid': 'duplicate-group', 'data-ids': g.accounts.map((a) => a.id).join(' ') },
      el('fieldset', {},
        el('legend', {}, g.shared.map(reasonText).join('; ')),
        el('table', { class: 'rows' },
          el('thead', {}, el('tr', {},
            el('th', { scope: 'col' }, t('office.keep')),
            el('th', { scope: 'col' }, t('field.name')),
            el('th', { scope: 'col' }, t('field.owner')))),
          el('tbody', {}, g.accounts.map((a, j) => el('tr', {},
            el('td', {}, el('input', { type: 'radio', name: radio, value: a.id, id: radio + '-' + j, checked: j === 0,
              'data-testid': 'keep' })),
            el('td', {}, el('label', { for: radio + '-' + j }, a.name)),
            el('td', {}, a.owner || '—'))))),
        el('button', { type: 'button', 'data-testid': 'merge', onclick: () => merge(g, radio) }, t('office.merge'))));
  }

  async function loadDuplicates() {
    try {
      const groups = await api('/office/duplicates');
      $('duplicates').replaceChildren(groups.length
        ? el('ul', { class: 'conflicts' }, groups.map(groupItem))
        : el('p', { class: 'muted', 'data-testid': 'no-duplicates' }, t('office.none')));
    } catch (err) {
      showError(err.message);
    }
  }

  async function merge(group, radio) {
    const chosen = document.querySelector('input[name="' + radio + '"]:checked');
    if (!chosen) return;
    const survivor = chosen.value;
    let merged = 0;
    try {
      for (const a of group.accounts) {
        if (a.id === survivor) continue;
        await api('/office/merge', { survivor, duplicate: a.id });
        merged += 1;
      }
      say(t('office.merged', { n: merged, name: chosen.closest('tr').querySelector('label').textContent }));
    } catch (err) {
      showError(err.message);
    }
    refreshList();
    loadDuplicates();
  }

  // --- start -----------------------------------------------------------------

  function render() {
    const old = $('office-reassign');
    const panel = reassignPanel();
    if (old) old.replaceWith(panel); else $('view-accounts').querySelector('.card.list').append(panel);
    planned = null;
    if (!$('view-office').hidden) loadDuplicates();
  }

  async function start() {
    try {
      directory = await api('/office/directory');
    } catch (_) {
      return; // not signed in: app.js says so
    }
    render();
    for (const b of document.querySelectorAll('.tab')) {
      b.addEventListener('click', () => {
        $('view-office').hidden = b.dataset.view !== 'office';
        if (b.dataset.view === 'office') loadDuplicates();
      });
    }
    // After app.js re-translated the page.
    $('lang').addEventListener('change', () => setTimeout(render, 0));
  }

  start();
})();
