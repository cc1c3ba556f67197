// Rapport desktop app: the office's page over the local replica. Every call
// goes to this app's own /api (the session cookie signs it); other devices'
// changes and the sync status arrive as server-sent events (/api/events).
// Everything is built with DOM calls (no HTML from data).
'use strict';

(function () {
  const I18n = window.RapportI18n;
  const t = I18n.t;
  const $ = (id) => document.getElementById(id);

  const OPTIONS = {
    status: ['active', 'former', 'lost'],
    tier: ['key', 'standard', 'low'],
    rung: ['prospect', 'customer', 'client', 'supporter', 'advocate', 'partner'],
    phase: ['pre_relationship', 'early', 'development', 'long_term', 'final'],
    phone: ['work', 'mobile', 'home', 'fax', 'other'],
    kind: ['call', 'meeting', 'visit', 'email', 'note'],
    istatus: ['held', 'planned'],
    direction: ['', 'inbound', 'outbound'],
    channel: ['email', 'phone', 'sms', 'messenger', 'visit', 'post'],
    consent: ['refused', 'opt_out', 'opt_in'],
    role: ['customer', 'supplier', 'partner', 'reseller', 'government', 'internal'],
    tie: ['professional', 'social', 'personal', 'parent', 'group'],
    skind: ['open', 'won', 'lost'],
  };

  // The stages' names as core ships them (Settings::default).
  const SHIPPED_STAGES = {
    prospecting: 'Prospecting', qualification: 'Qualification', proposal: 'Proposal',
    negotiation: 'Negotiation', won: 'Won', lost: 'Lost',
  };

  let settings = { stages: [], lost_reasons: [] };
  let maySettings = false; // whether this user may change the settings (else read-only)
  let current = null;      // the open account's id
  let reloadPending = false;
  let lastStatus = null;
  let view = 'accounts';

  // el('tag', {attr: value, onclick: fn}, children…)
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (k === 'value') node.value = v;
      else if (k === 'checked') node.checked = true;
      else node.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }

  function label(kind, id) {
    if (id === '') return '—';
    if (kind === 'stage') {
      const s = settings.stages.find((x) => x.id === id);
      // A stage an administrator renamed shows its new name in every language;
      // the stages as shipped show their names in the user's language.
      if (s && SHIPPED_STAGES[id] !== s.name) return s.name;
      return I18n.name('stage', id, s ? s.name : id);
    }
    return I18n.name(kind, id, id);
  }

  function select(kind, value, attrs) {
    const values = kind === 'stage' ? settings.stages.map((s) => s.id)
      : kind === 'lost' ? settings.lost_reasons : OPTIONS[kind];
    return el('select', attrs || {}, values.map((v) =>
      el('option', { value: v, selected: v === value }, kind === 'lost' ? label('reason', v) : label(kind, v))));
  }

  class ApiError extends Error {
    constructor(status, code, message, field, rows) {
      super(message);
      this.status = status; this.code = code; this.field = field; this.rows = rows || [];
    }
  }

  async function api(path, body) {
    const init = body === undefined ? {} : {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    };
    let res;
    try {
      res = await fetch('/api' + path, { ...init, credentials: 'same-origin' });
    } catch (e) {
      throw new ApiError(0, 'unreachable', t('app.unreachable'));
    }
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (!res.ok) {
      const err = (data && data.error) || {};
      if (res.status === 401) signedOut();
      throw new ApiError(res.status, err.code || 'error', err.message || res.statusText, err.field, err.rows);
    }
    return data;
  }

  function say(message) {
    const p = $('message');
    p.textContent = message;
    p.hidden = !message;
    showError('');
  }

  function showError(message) {
    const p = $('error');
    p.textContent = message || '';
    p.hidden = !message;
  }

  // Runs an edit; on success shows "Saved" and the card it answers.
  async function change(path, body) {
    try {
      const card = await api(path, body);
      say(t('app.saved'));
      if (card && card.account) renderCard(card);
      refreshList();
      return card;
    } catch (e) {
      showError(e.message);
      return null;
    }
  }

  function signedOut() {
    $('signed-out').hidden = false;
    for (const v of document.querySelectorAll('.view')) v.hidden = true;
  }

  // --- sync status ---------------------------------------------------------

  function renderStatus(s) {
    lastStatus = s;
    const node = $('sync-status');
    node.dataset.online = String(!!s.online);
    node.dataset.unsent = String(s.unsent_changes);
    node.className = s.online ? 'online' : 'offline';
    let text = s.online ? t('app.online') : t('app.offline');
    if (s.unsent_changes > 0) text += ' · ' + t('app.unsent', { n: s.unsent_changes });
    else if (s.online) text += ' · ' + t('app.all-sent');
    node.textContent = text;
    node.title = s.problem || '';
    // Sync stopped for good (token refused, device revoked): say what to do.
    if (s.stopped) showError(s.problem);
    const refused = $('refused-count');
    refused.textContent = String(s.refused_edits);
    refused.hidden = !s.refused_edits;
  }

  function connectEvents() {
    const events = new EventSource('/api/events');
    events.addEventListener('status', (e) => renderStatus(JSON.parse(e.data)));
    events.addEventListener('changed', (e) => onChanged(JSON.parse(e.data)));
    events.addEventListener('error', () => {
      if (lastStatus) renderStatus({ ...lastStatus, online: false });
    });
  }

  function onChanged(ids) {
    if (ids.includes('settings')) settingsArrived();
    refreshList();
    countConflicts();
    if (current && ids.includes(current)) {
      if ($('card').contains(document.activeElement) && document.activeElement.matches('input, textarea, select')) {
        reloadPending = true;
      } else {
        loadCard(current);
      }
    }
    if (view === 'conflicts') loadConflicts();
    if (view === 'refused') loadRefused();
  }

  // --- the list ------------------------------------------------------------

  async function refreshList() {
    const form = $('search');
    const params = new URLSearchParams();
    for (const name of ['q', 'owner', 'tag', 'status']) {
      const v = form.elements[name].value.trim();
      if (v) params.set(name, v);
    }
    if (form.elements.conflicts.checked) params.set('conflicts', 'true');
    try {
      const rows = await api('/accounts?' + params.toString());
      const tbody = $('accounts');
      tbody.replaceChildren(...rows.map((a) => el('tr', { 'data-id': a.id, class: a.id === current ? 'selected' : null },
        el('td', {}, el('button', { type: 'button', class: 'link', 'data-testid': 'open-account', onclick: () => loadCard(a.id) }, a.name),
          a.conflicts ? el('span', { class: 'badge', title: t('conflicts') }, a.conflicts) : null),
        el('td', {}, a.owner || '—'),
        el('td', {}, label('rung', a.loyalty_rung)),
        el('td', { class: 'num' }, I18n.number(a.open_deals)))));
      $('list-empty').hidden = rows.length > 0;
    } catch (e) {
      showError(e.message);
    }
  }

  // --- the card ------------------------------------------------------------

  async function loadCard(id) {
    try {
      const card = await api('/accounts/' + encodeURIComponent(id));
      renderCard(card);
    } catch (e) {
      showError(e.message);
    }
  }

  function path(...parts) {
    return '/accounts/' + encodeURIComponent(current) + (parts.length ? '/' + parts.map(encodeURIComponent).join('/') : '');
  }

  function setField(field, value) {
    return change(path('field'), { field, value });
  }

  // A text input that saves its field when it changes.
  function fieldInput(field, value, attrs) {
    return el('input', {
      type: 'text', value: value || '', 'data-field': field, ...attrs,
      onchange: (e) => setField(field, e.target.value),
    });
  }

  function labelled(text, control) {
    return el('label', { class: 'field' }, el('span', {}, text), control);
  }

  function section(titleKey, testid, ...children) {
    return el('section', { class: 'part', 'data-testid': testid },
      el('h3', {}, t(titleKey)), ...children);
  }

  function form(testid, onsubmit, ...children) {
    return el('form', {
      class: 'inline', 'data-testid': testid, autocomplete: 'off',
      onsubmit: async (e) => {
        e.preventDefault();
        const data = Object.fromEntries(new FormData(e.target).entries());
        const ok = await onsubmit(data);
        if (ok) e.target.reset();
      },
    }, ...children);
  }

  function when(at) {
    if (!at) return '—';
    const ms = Date.parse(at);
    return Number.isNaN(ms) ? String(at) : I18n.dateTime(ms);
  }

  function renderCard(card) {
    const a = card.account;
    current = a.id;
    reloadPending = false;
    const p = a.party;
    $('card').hidden = false;
    $('card').dataset.id = a.id;
    // Counts renders, so that a test can wait for the card a click asked for.
    $('card').dataset.renders = String(Number($('card').dataset.renders || 0) + 1);
    $('card-title').textContent = p.name;
    for (const tr of $('accounts').children) tr.classList.toggle('selected', tr.dataset.id === a.id);

    $('card-conflicts').replaceChildren(...(card.conflicts.length
      ? [el('div', { class: 'conflicts-here' }, el('h3', {}, t('conflicts')),
        conflictList(card.conflicts.map((c) => ({ ...c, account: a.id, name: p.name }))))]
      : []));

    const party = section('app.party', 'party',
      el('div', { class: 'grid' },
        labelled(t('field.name'), fieldInput('party.name', p.name, { 'data-testid': 'party-name', required: true })),
        labelled(t('field.industry'), fieldInput('party.industry', p.industry)),
        labelled(t('field.website'), fieldInput('party.website', p.website)),
        labelled(t('field.registration_code'), fieldInput('party.registration_code', p.registration_code, { 'data-testid': 'registration-code' })),
        labelled(t('field.owner'), fieldInput('party.owner', p.owner)),
        labelled(t('field.team'), fieldInput('party.team', p.team)),
        labelled(t('field.territory'), fieldInput('party.territory', p.territory)),
        labelled(t('field.value_tier'), select('tier', p.value_tier, { onchange: (e) => setField('party.value_tier', e.target.value) })),
        labelled(t('field.source'), fieldInput('party.source', p.source))),
      el('h4', {}, t('app.address')),
      el('div', { class: 'grid' },
        ...['street', 'city', 'region', 'postcode', 'country'].map((k) =>
          labelled(t('field.address.' + k), fieldInput('party.address.' + k, p.address[k], { 'data-testid': 'address-' + k })))),
      el('h4', {}, t('field.tags')),
      el('ul', { class: 'chips', 'data-testid': 'tags' }, [...p.tags].map((tag) => el('li', { 'data-tag': tag }, tag, ' ',
        el('button', { type: 'button', class: 'chip-x', 'aria-label': t('app.remove-tag', { tag }), onclick: () => change(path('tags', 'remove'), { tag }) }, '×')))),
      form('add-tag', (d) => change(path('tags'), { tag: d.tag }),
        el('input', { name: 'tag', type: 'text', required: true, 'aria-label': t('app.new-tag'), placeholder: t('app.new-tag') }),
        el('button', { type: 'submit' }, t('app.add'))),
      rolesPart(p),
      freeFields('demographics', p.demographics),
      freeFields('buying_habits', p.buying_habits),
      el('h4', {}, t('field.notes')),
      // Saved as what changed since this card's heads: typing that arrived
      // from other devices meanwhile is kept, not overwritten.
      el('textarea', { 'data-field': 'party.notes', 'data-testid': 'notes', rows: 3, 'aria-label': t('field.notes'),
        onchange: (e) => change(path('notes'), { text: e.target.value, base: card.heads }) }, p.notes));

    $('card-body').replaceChildren(party, relationshipPart(a), contactsPart(a), dealsPart(a), interactionsPart(a), tasksPart(a),
      tiesPart(a, card.names || {}), historyPart(a));
  }

  // The party's roles: one checkbox each, saved as it is ticked.
  function rolesPart(p) {
    return el('fieldset', { class: 'roles', 'data-testid': 'roles' }, el('legend', {}, t('field.roles')),
      OPTIONS.role.map((r) => el('label', { class: 'check' },
        el('input', { type: 'checkbox', value: r, checked: p.roles.includes(r), 'data-role': r,
          onchange: (e) => change(path('roles'), { role: r, present: e.target.checked }) }),
        ' ', label('role', r))));
  }

  // Demographics or buying habits: free keys with values; an emptied value removes its key.
  function freeFields(map, values) {
    const field = (k) => 'party.' + map + '.' + k;
    return el('div', { class: 'free', 'data-testid': map },
      el('h4', {}, t('app.' + map)),
      el('ul', { class: 'pairs' }, Object.entries(values || {}).map(([k, v]) => el('li', { 'data-key': k },
        labelled(k, fieldInput(field(k), v)), ' ',
        el('button', { type: 'button', class: 'chip-x', 'aria-label': t('app.remove', { what: k }),
          onclick: () => setField(field(k), '') }, '×')))),
      form('add-' + map, (d) => setField(field(d.key.trim()), d.value),
        el('input', { name: 'key', type: 'text', required: true, maxlength: 64, pattern: '[^.]+', 'aria-label': t('app.key'), placeholder: t('app.key') }),
        el('input', { name: 'value', type: 'text', required: true, 'aria-label': t('app.value'), placeholder: t('app.value') }),
        el('button', { type: 'submit' }, t('app.add'))));
  }

  // Ties from this party (or one of its contacts) to other parties, groups and contacts.
  function tiesPart(a, names) {
    const nameOf = (id) => names[id] || id.slice(0, 8) + '…';
    const items = a.ties.map((tie) => el('li', { 'data-tie': tie.id, 'data-kind': tie.kind },
      nameOf(tie.from), ' → ', el('strong', {}, nameOf(tie.to)), ' · ', label('tie', tie.kind),
      tie.role ? ' (' + tie.role + ')' : ''));
    // Other accounts on this replica are listed when the choice is first
    // focused (not on every redraw of the card).
    let filled = false;
    const to = el('select', { name: 'to', required: true, 'aria-label': t('app.tie-to'), 'data-testid': 'tie-to',
      onfocus: () => {
        if (filled) return;
        filled = true;
        api('/accounts?limit=5000').then((rows) => to.append(...rows.filter((r) => r.id !== a.id)
          .map((r) => el('option', { value: r.id }, r.name)))).catch((e) => { filled = false; showError(e.message); });
      } },
    a.contacts.map((c) => el('option', { value: c.id }, c.name)));
    return section('app.ties', 'ties',
      el('ul', { class: 'log' }, items),
      form('add-tie', (d) => change(path('ties'), { to: d.to, kind: d.kind, from: d.from || null, role: d.role || null }),
        labelled(t('app.tie-from'), el('select', { name: 'from' }, el('option', { value: '' }, a.party.name),
          a.contacts.map((c) => el('option', { value: c.id }, c.name)))),
        labelled(t('app.tie-to'), to),
        labelled(t('app.kind'), select('tie', 'professional', { name: 'kind' })),
        labelled(t('app.tie-role'), el('input', { name: 'role', type: 'text' })),
        el('button', { type: 'submit' }, t('app.add'))));
  }

  // The account as it was right after one change: read-only.
  function pastCard(past, at) {
    const a = past.account;
    const p = a.party;
    const row = (key, value) => [el('dt', {}, key), el('dd', {}, value === null || value === undefined || value === '' ? '—' : value)];
    const pairs = (m) => Object.entries(m || {}).map(([k, v]) => k + ': ' + v).join('; ');
    const names = past.names || {};
    return el('section', { class: 'past', 'data-testid': 'account-then', 'aria-label': t('app.as-it-was', { when: at }) },
      el('h4', {}, t('app.as-it-was', { when: at })),
      el('dl', { class: 'readonly' },
        row(t('field.name'), p.name), row(t('field.industry'), p.industry), row(t('field.website'), p.website),
        row(t('field.owner'), p.owner), row(t('field.team'), p.team), row(t('field.territory'), p.territory),
        row(t('field.value_tier'), label('tier', p.value_tier)), row(t('field.loyalty_rung'), label('rung', p.loyalty_rung)),
        row(t('field.lifecycle_phase'), label('phase', p.lifecycle_phase)), row(t('field.status'), label('status', p.status)),
        row(t('field.roles'), p.roles.map((r) => label('role', r)).join(', ')), row(t('field.tags'), p.tags.join(', ')),
        row(t('app.address'), ['street', 'city', 'region', 'postcode', 'country'].map((k) => p.address[k]).filter(Boolean).join(', ')),
        row(t('app.demographics'), pairs(p.demographics)), row(t('app.buying_habits'), pairs(p.buying_habits)),
        row(t('field.notes'), p.notes),
        row(t('app.contacts'), a.contacts.map((c) => c.name).join(', ')),
        row(t('app.deals'), a.deals.map((d) => d.title + ' (' + label('stage', d.stage) + ', ' + I18n.money(d.amount.minor, d.amount.currency) + ')').join('; ')),
        row(t('app.ties'), a.ties.map((x) => (names[x.to] || x.to) + ' · ' + label('tie', x.kind)).join('; '))));
  }

  // Ladder and lifecycle moves with a reason and their histories; ending
  // the relationship with a catalogue reason and a date, and reopening it.
  function relationshipPart(a) {
    const p = a.party;
    const moves = (kind, list) => el('ul', { class: 'log', 'data-testid': kind + '-history' }, [...list].reverse().map((m) =>
      el('li', {}, when(m.at) + ' · ' + label(kind, m.from) + ' → ' + label(kind, m.to) + (m.reason ? ' (' + m.reason + ')' : '') + ' · ' + m.by)));
    const move = (kind, endpoint, current) => form('move-' + kind, (d) => change(path(endpoint), { to: d.to, reason: d.reason || null }),
      select(kind, current, { name: 'to', 'aria-label': t(kind === 'rung' ? 'field.loyalty_rung' : 'field.lifecycle_phase') }),
      el('input', { name: 'reason', type: 'text', placeholder: t('app.reason'), 'aria-label': t('app.reason') }),
      el('button', { type: 'submit', class: 'secondary' }, t('app.move')));
    const today = new Date().toISOString().slice(0, 10);
    const ending = p.ending
      ? el('p', { 'data-testid': 'ending' }, t('app.ended', {
        status: label('status', p.status), reason: label('end', p.ending.reason), on: I18n.date(Date.parse(p.ending.on)), phase: label('phase', p.ending.phase),
      }), ' ', el('button', { type: 'button', 'data-testid': 'reopen', onclick: () => change(path('reopen'), {}) }, t('app.reopen')))
      : form('end-relationship', (d) => change(path('end'), { status: d.status, reason: d.reason, on: d.on }),
        el('select', { name: 'status', 'aria-label': t('field.status') }, ['lost', 'former'].map((v) => el('option', { value: v }, label('status', v)))),
        el('select', { name: 'reason', 'aria-label': t('app.reason') }, (settings.end_reasons || []).map((r) => el('option', { value: r }, label('end', r)))),
        el('input', { name: 'on', type: 'date', required: true, value: today, 'aria-label': t('app.ended-on') }),
        el('button', { type: 'submit', class: 'secondary' }, t('app.end')));
    return section('app.relationship', 'relationship',
      el('h4', {}, t('field.loyalty_rung') + ': ' + label('rung', p.loyalty_rung)), move('rung', 'ladder', p.loyalty_rung), moves('rung', a.ladder_history),
      el('h4', {}, t('field.lifecycle_phase') + ': ' + label('phase', p.lifecycle_phase)), move('phase', 'lifecycle', p.lifecycle_phase), moves('phase', a.lifecycle_history),
      el('h4', {}, t('field.status') + ': ' + label('status', p.status)), ending);
  }

  function contactsPart(a) {
    const items = a.contacts.map((c) => {
      const base = ['contacts', c.id];
      return el('li', { class: 'contact' + (c.active ? '' : ' inactive'), 'data-contact': c.id, 'data-testid': 'contact' },
        el('div', { class: 'grid' },
          labelled(t('app.contact-name'), fieldInput('contacts.' + c.id + '.name', c.name)),
          labelled(t('app.job-title'), fieldInput('contacts.' + c.id + '.job_title', c.job_title)),
          el('span', { class: 'state' }, c.active ? t('app.active') : t('app.inactive')),
          el('button', { type: 'button', class: 'secondary', 'data-testid': c.active ? 'deactivate' : 'reactivate',
            onclick: () => change(path(...base, 'active'), { active: !c.active }) },
          c.active ? t('app.deactivate') : t('app.reactivate'))),
        el('div', { class: 'subgrid' },
          el('div', {}, el('h5', {}, t('app.emails')),
            el('ul', { class: 'chips' }, [...c.emails].map((email) => el('li', { 'data-email': email }, email, ' ',
              el('button', { type: 'button', class: 'chip-x', 'aria-label': t('app.remove', { what: email }),
                onclick: () => change(path(...base, 'emails', 'remove'), { email }) }, '×')))),
            form('add-email', (d) => change(path(...base, 'emails'), { email: d.email }),
              el('input', { name: 'email', type: 'email', required: true, 'aria-label': t('app.new-email'), placeholder: t('app.new-email') }),
              el('button', { type: 'submit' }, t('app.add')))),
          el('div', {}, el('h5', {}, t('app.phones')),
            el('ul', { class: 'chips' }, c.phones.map((ph) => el('li', { 'data-phone': ph.number }, label('phone', ph.kind) + ': ' + ph.number, ' ',
              el('button', { type: 'button', class: 'chip-x', 'aria-label': t('app.remove', { what: ph.number }),
                onclick: () => change(path(...base, 'phones', 'remove'), { number: ph.number }) }, '×')))),
            form('add-phone', (d) => change(path(...base, 'phones'), { number: d.number, kind: d.kind }),
              el('input', { name: 'number', type: 'tel', required: true, 'aria-label': t('app.new-phone'), placeholder: t('app.new-phone') }),
              select('phone', 'work', { name: 'kind', 'aria-label': t('app.phone-kind') }),
              el('button', { type: 'submit' }, t('app.add'))))),
        el('h5', {}, t('app.consents')),
        el('ul', { class: 'log', 'data-testid': 'consents' }, c.consents.map((k) => el('li', { 'data-channel': k.channel, 'data-status': k.status },
          label('channel', k.channel) + ' · ' + k.topic + ': ' + label('consent', k.status) + (k.reason ? ' (' + k.reason + ')' : '') + ' · ' + when(k.at)))),
        form('add-consent', (d) => change(path(...base, 'consents'), { channel: d.channel, topic: d.topic, status: d.status, reason: d.reason || null }),
          select('channel', 'email', { name: 'channel', 'aria-label': t('app.channel') }),
          el('input', { name: 'topic', type: 'text', required: true, 'aria-label': t('app.topic'), placeholder: t('app.topic') }),
          select('consent', 'refused', { name: 'status', 'aria-label': t('app.consent') }),
          el('input', { name: 'reason', type: 'text', 'aria-label': t('app.reason'), placeholder: t('app.reason') }),
          el('button', { type: 'submit' }, t('app.record'))));
    });
    return section('app.contacts', 'contacts',
      el('ul', { class: 'records' }, items),
      el('h4', {}, t('app.new-contact')),
      form('add-contact', (d) => change(path('contacts'), {
        name: d.name, job_title: d.job_title || null, email: d.email || null, phone: d.phone || null,
      }),
      labelled(t('app.contact-name'), el('input', { name: 'name', type: 'text', required: true, 'data-testid': 'contact-name' })),
      labelled(t('app.job-title'), el('input', { name: 'job_title', type: 'text' })),
      labelled(t('app.email'), el('input', { name: 'email', type: 'email' })),
      labelled(t('app.phone'), el('input', { name: 'phone', type: 'tel' })),
      el('button', { type: 'submit' }, t('app.add'))));
  }

  function dealsPart(a) {
    const rows = a.deals.map((d) => el('tr', { 'data-deal': d.id, 'data-testid': 'deal' },
      el('td', {}, d.title),
      el('td', { class: 'num' }, I18n.money(d.amount.minor, d.amount.currency)),
      el('td', {}, select('stage', d.stage, {
        'aria-label': t('app.stage'), 'data-testid': 'deal-stage',
        onchange: (e) => change(path('deals', d.id, 'stage'), { stage: e.target.value }),
      })),
      el('td', {}, label('outcome', d.outcome) + (d.lost_reason ? ' (' + label('reason', d.lost_reason) + ')' : '')),
      el('td', {}, d.outcome === 'open' ? form('deal-lost', (x) => change(path('deals', d.id, 'lost'), { reason: x.reason, note: x.note || null }),
        select('lost', settings.lost_reasons[0], { name: 'reason', 'aria-label': t('field.lost_reason') }),
        el('input', { name: 'note', type: 'text', placeholder: t('app.note'), 'aria-label': t('app.note') }),
        el('button', { type: 'submit', class: 'secondary' }, t('app.mark-lost'))) : '')));
    const firstCurrency = a.deals.length ? a.deals[0].amount.currency : 'EUR';
    return section('app.deals', 'deals',
      el('table', { class: 'rows' },
        el('thead', {}, el('tr', {}, ...['app.title', 'app.amount', 'app.stage', 'app.outcome', 'app.close'].map((k) => el('th', { scope: 'col' }, t(k))))),
        el('tbody', {}, rows)),
      el('h4', {}, t('app.new-deal')),
      form('add-deal', (d) => change(path('deals'), { title: d.title, amount: d.amount, currency: d.currency, stage: d.stage }),
        labelled(t('app.title'), el('input', { name: 'title', type: 'text', required: true })),
        labelled(t('app.amount'), el('input', { name: 'amount', type: 'text', required: true, inputmode: 'decimal' })),
        labelled(t('app.currency'), el('input', { name: 'currency', type: 'text', required: true, value: firstCurrency, size: 4 })),
        labelled(t('app.stage'), select('stage', (settings.stages.find((s) => s.kind === 'open') || {}).id, { name: 'stage' })),
        el('button', { type: 'submit' }, t('app.add'))));
  }

  function interactionsPart(a) {
    const items = [...a.interactions].reverse().map((i) => el('li', { 'data-interaction': i.id, class: i.status },
      el('span', { class: 'when' }, when(i.actual_start || i.planned_start || i.logged_at)), ' ',
      el('span', { class: 'kind' }, label('kind', i.kind)), ' · ',
      el('span', { class: 'status' }, label('istatus', i.status)), ' · ', i.subject,
      i.notes ? el('div', { class: 'muted' }, i.notes) : null));
    return section('app.interactions', 'interactions',
      el('ul', { class: 'log' }, items),
      form('log-interaction', (d) => {
        let whenIso = null;
        if (d.when) whenIso = new Date(d.when).toISOString();
        return change(path('interactions'), {
          kind: d.kind, subject: d.subject, status: d.status, when: whenIso, direction: d.direction || null, notes: d.notes || null,
        });
      },
      labelled(t('app.kind'), select('kind', 'call', { name: 'kind' })),
      labelled(t('app.subject'), el('input', { name: 'subject', type: 'text', required: true })),
      labelled(t('field.status'), select('istatus', 'held', { name: 'status' })),
      labelled(t('when'), el('input', { name: 'when', type: 'datetime-local' })),
      labelled(t('app.direction'), select('direction', '', { name: 'direction' })),
      labelled(t('field.notes'), el('input', { name: 'notes', type: 'text' })),
      el('button', { type: 'submit' }, t('app.log'))));
  }

  function tasksPart(a) {
    const items = a.tasks.map((task) => el('li', { 'data-task': task.id, class: task.status },
      task.title, task.due ? ' · ' + I18n.date(Date.parse(task.due)) : '', ' · ', label('tstatus', task.status), ' ',
      task.status !== 'done' ? el('button', { type: 'button', class: 'secondary', onclick: () => change(path('tasks', task.id, 'done'), {}) }, t('app.done')) : null));
    return section('app.tasks', 'tasks',
      el('ul', { class: 'log' }, items),
      form('add-task', (d) => change(path('tasks'), { title: d.title, due: d.due || null }),
        labelled(t('app.title'), el('input', { name: 'title', type: 'text', required: true })),
        labelled(t('app.due'), el('input', { name: 'due', type: 'date' })),
        el('button', { type: 'submit' }, t('app.add'))));
  }

  function fieldLabel(p) {
    const parts = String(p).split('.');
    const RECORDS = { contacts: 'contact', deals: 'deal', interactions: 'interaction', tasks: 'task', ties: 'tie' };
    if (RECORDS[parts[0]]) {
      const record = t('record.' + RECORDS[parts[0]]);
      const rest = parts.slice(2).join('.');
      return rest ? record + ': ' + I18n.name('field', rest, rest) : record;
    }
    const key = parts[0] === 'party' ? parts.slice(1).join('.') : parts.join('.');
    return I18n.name('field', key, p);
  }

  function historyPart(a) {
    const box = el('div', { 'data-testid': 'history' });
    const then = el('div', { 'aria-live': 'polite' });
    const showThen = async (h) => {
      try {
        const past = await api(path('at', h.hash));
        then.replaceChildren(pastCard(past, when(h.at)),
          el('button', { type: 'button', class: 'secondary', 'data-testid': 'close-then', onclick: () => then.replaceChildren() }, t('app.back-to-now')));
      } catch (e) { showError(e.message); }
    };
    return section('history', 'history-part',
      el('button', { type: 'button', class: 'secondary', 'data-testid': 'show-history', onclick: async () => {
        try {
          const entries = await api(path('history'));
          box.replaceChildren(el('ol', { class: 'history' }, entries.map((h) => el('li', { 'data-op': h.op, 'data-hash': h.hash },
            el('span', { class: 'when' }, when(h.at)), ' ', t('written-by', { user: h.user, device: h.device }), ' ',
            el('button', { type: 'button', class: 'link', 'data-testid': 'show-then', onclick: () => showThen(h) }, t('app.show-then')),
            el('ul', { class: 'changes' }, h.changes.map((c) => el('li', { 'data-field': c.field },
              el('span', { class: 'field' }, fieldLabel(c.field)), ': ',
              el('span', { class: 'old' }, c.old === null ? '—' : c.old), ' → ',
              el('span', { class: 'new' }, c.new === null ? '—' : c.new))))))));
        } catch (e) { showError(e.message); }
      } }, t('app.show-history')), then, box);
  }

  // --- conflicts and refused edits ----------------------------------------

  function conflictList(rows) {
    return el('ul', { class: 'conflicts' }, rows.map((c) => el('li', { 'data-account': c.account, 'data-field': c.field, 'data-testid': 'conflict' },
      el('strong', {}, c.name), ' · ', fieldLabel(c.field), ': ',
      ...c.values.map((v) => el('button', {
        type: 'button', class: v.winner ? 'choice winner' : 'choice', 'data-value': v.value, 'data-testid': 'pick',
        title: t('written-by', { user: v.user, device: v.device }) + ', ' + when(v.at),
        onclick: async () => {
          const saved = await change('/accounts/' + encodeURIComponent(c.account) + '/resolve', { field: c.field, value: v.value });
          if (saved) { loadConflicts(); countConflicts(); }
        },
      }, (v.value === '' ? t('cleared') : v.value) + ' (' + t('written-by', { user: v.user, device: v.device }) + ')')))));
  }

  async function loadConflicts() {
    try {
      const rows = await api('/conflicts');
      $('conflicts').replaceChildren(rows.length ? conflictList(rows) : el('p', { class: 'muted' }, t('conflicts.none')));
    } catch (e) { showError(e.message); }
  }

  async function countConflicts() {
    try {
      const rows = await api('/conflicts');
      const badge = $('conflict-count');
      badge.textContent = String(rows.length);
      badge.hidden = rows.length === 0;
    } catch (_) { /* shown elsewhere */ }
  }

  function renderRefused(rows) {
    $('refused').replaceChildren(rows.length ? el('ul', { class: 'records' }, rows.map((r) => r.kind === 'settings'
      ? el('li', { 'data-refused': r.id, 'data-testid': 'refused-settings' }, el('strong', {}, t('app.settings')), ' · ', r.reason, ' · ', t('app.settings-refused'), ' ', ...refusedButtons(r.id))
      : el('li', { 'data-refused': r.id, 'data-testid': 'refused-edit' },
      el('strong', {}, r.name), ' · ', r.fields.map(fieldLabel).join(', '), ' · ', r.reason, ' · ', when(r.refused_at), ' ', ...refusedButtons(r.id))))
      : el('p', { class: 'muted' }, t('app.refused.none')));
  }

  function refusedButtons(id) {
    return [
      el('button', { type: 'button', class: 'secondary', onclick: () => refusedAction(id, 'discard') }, t('app.discard')), ' ',
      el('button', { type: 'button', onclick: () => refusedAction(id, 'retry') }, t('app.retry'))];
  }

  async function refusedAction(id, action) {
    try {
      renderRefused(await api('/refused/' + encodeURIComponent(id) + '/' + action, {}));
      say(t('app.saved'));
    } catch (e) { showError(e.message); }
  }

  async function loadRefused() {
    try { renderRefused(await api('/refused')); } catch (e) { showError(e.message); }
  }

  function show(next) {
    view = next;
    for (const b of document.querySelectorAll('.tab')) b.setAttribute('aria-pressed', String(b.dataset.view === next));
    // Every view, also those of office.js and import.js (a card opened from another view shows the accounts).
    for (const v of document.querySelectorAll('main > .view')) v.hidden = v.id !== 'view-' + next;
    if (next === 'conflicts') loadConflicts();
    if (next === 'refused') loadRefused();
    if (next === 'settings') loadSettings();
  }

  // --- settings (administrators, managers and the office change them) -----

  async function saveSettings(path, body) {
    try {
      const answer = await api(path, body);
      settings = answer.settings;
      say(t('app.saved'));
      renderSettings();
      if (current) loadCard(current);
      return true;
    } catch (e) { showError(e.message); return false; }
  }

  function renderSettings() {
    const off = !maySettings;
    $('settings-readonly').hidden = maySettings;
    const num = (name, value, max, labelKey) => el('input', { name, type: 'number', min: 0, max, required: true, value: String(value),
      disabled: off, 'aria-label': t(labelKey), class: 'num' });
    const stageRow = (s) => el('tr', { 'data-stage': s.id },
      el('td', {}, el('code', {}, s.id)),
      el('td', {}, el('input', { name: 'name', type: 'text', value: s.name, required: true, disabled: off, 'aria-label': t('app.stage-name') })),
      el('td', {}, num('probability', s.probability, 100, 'app.probability')),
      el('td', {}, select('skind', s.kind, { name: 'kind', disabled: off, 'aria-label': t('field.kind') })),
      el('td', {}, num('order', s.order, 100000, 'app.order')),
      el('td', {}, num('stale_after_days', s.stale_after_days, 100000, 'app.stale-after')),
      el('td', {}, off ? '' : el('button', { type: 'button', 'data-testid': 'save-stage', onclick: (e) => {
        const tr = e.target.closest('tr');
        const v = (n) => tr.querySelector('[name=' + n + ']').value;
        saveSettings('/settings/stages', { id: s.id, name: v('name'), probability: Number(v('probability')), kind: v('kind'),
          order: Number(v('order')), stale_after_days: Number(v('stale_after_days')) });
      } }, t('app.save'))));
    const reasons = (catalogue, key, list) => el('div', { 'data-testid': 'reasons-' + catalogue },
      el('h3', {}, t('app.' + key)),
      el('ul', { class: 'chips' }, list.map((r) => {
        const name = label(catalogue === 'lost' ? 'reason' : 'end', r);
        return el('li', { 'data-reason': r }, el('span', { class: 'name' }, name), off ? null : el('button', {
          type: 'button', class: 'link', 'data-testid': 'remove-reason', 'aria-label': t('app.remove-reason', { name }),
          onclick: () => saveSettings('/settings/reasons/remove', { catalogue, reason: r }),
        }, '×'));
      })),
      off ? null : form('add-reason-' + catalogue, (d) => saveSettings('/settings/reasons', { catalogue, reason: d.reason }),
        el('input', { name: 'reason', type: 'text', required: true, 'aria-label': t('app.new-reason'), placeholder: t('app.new-reason') }),
        el('button', { type: 'submit' }, t('app.add'))));
    // Counts renders, so that a test can wait for the view a save answered.
    $('settings').dataset.renders = String(Number($('settings').dataset.renders || 0) + 1);
    $('settings').replaceChildren(
      el('h3', {}, t('app.stages')),
      el('table', { class: 'rows', 'data-testid': 'stages' },
        el('thead', {}, el('tr', {}, ...['app.stage-id', 'app.stage-name', 'app.probability', 'field.kind', 'app.order', 'app.stale-after', 'app.action']
          .map((k) => el('th', { scope: 'col' }, t(k))))),
        el('tbody', {}, settings.stages.map(stageRow))),
      off ? null : el('div', {}, el('h4', {}, t('app.new-stage')),
        form('add-stage', (d) => saveSettings('/settings/stages', { id: d.id, name: d.name, probability: Number(d.probability), kind: d.kind,
          stale_after_days: d.stale_after_days === '' ? null : Number(d.stale_after_days) }),
        labelled(t('app.stage-id'), el('input', { name: 'id', type: 'text', required: true, pattern: '[^.]+' })),
        labelled(t('app.stage-name'), el('input', { name: 'name', type: 'text', required: true })),
        labelled(t('app.probability'), el('input', { name: 'probability', type: 'number', min: 0, max: 100, required: true })),
        labelled(t('field.kind'), select('skind', 'open', { name: 'kind' })),
        labelled(t('app.stale-after'), el('input', { name: 'stale_after_days', type: 'number', min: 0, value: '30' })),
        el('button', { type: 'submit' }, t('app.add')))),
      reasons('lost', 'lost-reasons', settings.lost_reasons),
      reasons('end', 'end-reasons', settings.end_reasons || []));
  }

  // Another device changed the settings: stage and reason names everywhere,
  // and the settings view unless someone is typing in it.
  async function settingsArrived() {
    try {
      const me = await api('/settings');
      settings = me.settings;
      maySettings = !!me.may_change_settings;
      if (view === 'settings' && !$('settings').contains(document.activeElement)) renderSettings();
    } catch (e) { showError(e.message); }
  }

  async function loadSettings() {
    try {
      const me = await api('/settings');
      settings = me.settings;
      maySettings = !!me.may_change_settings;
      renderSettings();
    } catch (e) { showError(e.message); }
  }

  // --- start ---------------------------------------------------------------

  function fillSelects() {
    for (const s of document.querySelectorAll('select[data-options]')) {
      const kind = s.dataset.options;
      const keep = s.value;
      s.replaceChildren(el('option', { value: '' }, t('app.any')), ...OPTIONS[kind].map((v) => el('option', { value: v }, label(kind, v))));
      s.value = keep;
    }
  }

  async function start() {
    I18n.translatePage();
    $('lang').value = I18n.lang;
    fillSelects();
    $('lang').addEventListener('change', (e) => {
      I18n.set(e.target.value);
      say('');
      fillSelects();
      if (lastStatus) renderStatus(lastStatus);
      refreshList();
      if (current) loadCard(current);
      if (view !== 'accounts') show(view);
    });
    for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => show(b.dataset.view));
    $('search').addEventListener('submit', (e) => { e.preventDefault(); refreshList(); });
    $('q').addEventListener('input', () => refreshList());
    $('new-account').addEventListener('submit', async (e) => {
      e.preventDefault();
      const card = await change('/accounts', { name: $('new-account-name').value });
      if (card) e.target.reset();
    });
    $('card').addEventListener('focusout', () => {
      setTimeout(() => {
        if (reloadPending && current && !$('card').contains(document.activeElement)) loadCard(current);
      }, 0);
    });
    try {
      const me = await api('/settings');
      settings = me.settings;
      maySettings = !!me.may_change_settings;
      renderStatus(await api('/status'));
    } catch (e) {
      if (e.status !== 401) showError(e.message);
      return;
    }
    connectEvents();
    refreshList();
    countConflicts();
  }

  start();
  // Opens an account's card in the accounts view (from another view).
  function openAccount(id) {
    show('accounts');
    loadCard(id);
  }

  // What office.js and import.js build on: the same element builder and API
  // call (a 401 signs the page out, errors carry the server's message and,
  // for an import, its row errors), and opening a card.
  window.RapportApp = { el, api, openAccount };
})();
