// Rapport manager dashboard. Every figure comes from the report API
// (/v1/reports/...) called with the device token kept in sessionStorage.
'use strict';

(function () {
  const TOKEN_KEY = 'rapport.token';
  const STAGE_ORDER = ['prospecting', 'qualification', 'proposal', 'negotiation', 'won', 'lost'];
  const KIND_COLORS = { call: '#2563eb', meeting: '#0f766e', visit: '#9333ea', email: '#d97706', note: '#64748b' };
  const POLL_MS = 2000;
  // Rows per page of the per-row tables (the API pages them: limit/offset, total).
  const PAGE_ROWS = 20;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const $ = (id) => document.getElementById(id);
  const I18n = window.RapportI18n;
  const t = I18n.t;
  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let loadedHead = null;
  let generation = 0;
  let live = null; // AbortController of the events stream
  let pollTimer = null;
  let refreshQueued = false;
  let refreshing = false;
  let drillStage = null;
  let historyShown = null; // [id, name] of the account whose history is shown
  // Offset of each paged table.
  const offsets = { 'stale-deals': 0, 'key-accounts-at-risk': 0, 'open-conflicts': 0 };

  // ---------- helpers ----------
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  const FILTERS = [['team', 'f-team'], ['rep', 'f-rep'], ['territory', 'f-territory'], ['from', 'f-from'], ['to', 'f-to']];

  function filters() {
    const out = {};
    for (const [key, id] of FILTERS) {
      const v = $(id).value.trim();
      if (v) out[key] = v;
    }
    return out;
  }

  // The filters live in the URL, so that a view can be bookmarked, shared
  // and reloaded.
  function filtersToUrl() {
    const url = new URL(location.href);
    const f = filters();
    for (const [key] of FILTERS) {
      if (f[key]) url.searchParams.set(key, f[key]); else url.searchParams.delete(key);
    }
    history.replaceState(null, '', url);
  }

  function filtersFromUrl() {
    const params = new URLSearchParams(location.search);
    for (const [key, id] of FILTERS) $(id).value = params.get(key) || '';
  }

  function query(params) {
    const q = new URLSearchParams(params).toString();
    return q ? '?' + q : '';
  }

  async function api(path, params) {
    const res = await fetch(path + query(params || {}), {
      headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
      cache: 'no-store',
    });
    if (!res.ok) {
      let message = 'the server answered ' + res.status;
      try {
        const body = await res.json();
        if (body && body.error && body.error.message) message = body.error.message;
      } catch (_) { /* not JSON */ }
      throw new ApiError(res.status, message);
    }
    return res.json();
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'class') node.className = v;
      else if (k === 'onclick') node.addEventListener('click', v);
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  const money = I18n.money;

  function day(ms) {
    if (ms === null || ms === undefined) return '—';
    return I18n.date(Number(ms));
  }

  // A time from the API: milliseconds or an RFC 3339 string.
  function when(at) {
    let ms = null;
    if (typeof at === 'number') ms = at;
    else if (typeof at === 'string') ms = Date.parse(at);
    if (ms === null || Number.isNaN(ms)) return String(at);
    return I18n.dateTime(ms);
  }

  function showError(message) {
    const p = $('error');
    p.textContent = message || '';
    p.hidden = !message;
  }

  function stageRank(s) {
    const i = STAGE_ORDER.indexOf(s);
    return i < 0 ? STAGE_ORDER.length : i;
  }

  // A field path in words: `party.address.city` → "City", `deals.<id>.stage`
  // → "Deal: stage"; unknown fields as their path.
  function fieldLabel(path) {
    const parts = String(path).split('.');
    const RECORDS = { contacts: 'contact', deals: 'deal', interactions: 'interaction', tasks: 'task', ties: 'tie' };
    if (RECORDS[parts[0]]) {
      const record = t('record.' + RECORDS[parts[0]]);
      const rest = parts.slice(2).join('.');
      if (!rest) return record;
      const name = rest.startsWith('line_item:') ? t('record.line-item') : I18n.name('field', rest, rest);
      return record + ': ' + name;
    }
    const key = parts[0] === 'party' ? parts.slice(1).join('.') : parts.join('.');
    return I18n.name('field', key, path);
  }

  // A value from the history: empty means none.
  function shown(value) {
    return value === null || value === undefined || value === '' ? '—' : String(value);
  }

  function accountButton(id, name) {
    return el('button', { type: 'button', class: 'link', 'data-account': id, onclick: () => showHistory(id, name) }, name || id);
  }

  // ---------- rendering ----------
  function renderPipeline(report) {
    const box = $('weighted-value');
    box.replaceChildren();
    const detail = [];
    for (const row of report.rows) {
      box.append(el('span', { class: 'cur', 'data-currency': row.currency, 'data-minor': row.weighted_minor }, money(row.weighted_minor, row.currency)));
      detail.push(t('pipeline.detail', { n: Number(row.open_deals), amount: money(row.amount_minor, row.currency) }));
    }
    if (!report.rows.length) box.append(el('span', { class: 'cur', 'data-minor': 0 }, t('no-open-deals')));
    $('pipeline-detail').textContent = detail.join(' · ');
  }

  function renderStages(report) {
    const stages = new Map();
    for (const row of report.rows) {
      const s = stages.get(row.stage) || { count: 0, amounts: [] };
      s.count += Number(row.deals);
      s.amounts.push([row.currency, Number(row.amount_minor)]);
      stages.set(row.stage, s);
    }
    const names = [...stages.keys()].sort((a, b) => stageRank(a) - stageRank(b) || a.localeCompare(b));
    const box = $('funnel');
    box.replaceChildren();
    if (!names.length) { box.append(el('p', { class: 'muted' }, t('funnel.none'))); return; }
    // Bars follow the value of the deals (3 small deals and 3 big ones must not
    // look alike), with the count beside; with several currencies, which
    // cannot be added up, they follow the count.
    const currencies = new Set(names.flatMap((n) => stages.get(n).amounts.map(([c]) => c)));
    const byValue = currencies.size === 1;
    const measure = (s) => (byValue ? s.amounts.reduce((sum, [, a]) => sum + a, 0) : s.count);
    const max = Math.max(...names.map((n) => measure(stages.get(n))), 1);
    const rowH = 34, labelW = 120, barMax = 380, width = labelW + barMax + 230;
    const chart = svg('svg', { viewBox: `0 0 ${width} ${names.length * rowH + 4}`, width, role: 'list', 'aria-label': t('funnel.label') });
    names.forEach((name, i) => {
      const s = stages.get(name);
      const w = Math.max(2, Math.round((measure(s) / max) * barMax));
      const y = i * rowH + 2;
      const amounts = s.amounts.map(([c, a]) => money(a, c)).join(' + ');
      const label = t('funnel.stage', { stage: I18n.name('stage', name), n: s.count, amounts });
      const g = svg('g', {
        class: 'stage', role: 'button', tabindex: '0', 'aria-label': label + '. ' + t('funnel.show'),
        'data-stage': name, 'data-testid': 'stage-' + name, 'data-count': s.count, 'data-bar-by': byValue ? 'value' : 'count',
        'data-amounts': s.amounts.map(([c, a]) => c + '=' + a).join(';'),
      });
      g.append(svg('title', {}, label));
      g.append(svg('text', { x: 0, y: y + 20 }, I18n.name('stage', name)));
      const cls = name === 'won' ? 'bar closed-won' : name === 'lost' ? 'bar closed-lost' : 'bar';
      g.append(svg('rect', { class: cls, x: labelW, y: y + 4, width: w, height: rowH - 10, rx: 3 }));
      g.append(svg('text', { x: labelW + w + 8, y: y + 20, class: 'figure' }, `${I18n.number(s.count)} · ${amounts}`));
      g.addEventListener('click', () => drillIntoStage(name));
      g.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); drillIntoStage(name); } });
      chart.append(g);
    });
    box.append(chart);
  }

  function renderActivity(report) {
    const per = new Map();
    const kinds = new Set();
    for (const row of report.rows) {
      const rep = row.rep || '—';
      const m = per.get(rep) || new Map();
      m.set(row.kind, (m.get(row.kind) || 0) + Number(row.interactions));
      per.set(rep, m);
      kinds.add(row.kind);
    }
    const box = $('activity');
    box.replaceChildren();
    if (!per.size) { box.append(el('p', { class: 'muted' }, t('activity.none'))); return; }
    const kindList = [...kinds].sort();
    const reps = [...per.keys()].sort();
    const max = Math.max(...reps.flatMap((r) => [...per.get(r).values()]), 1);
    const barH = 14, labelW = 110, barMax = 420, width = labelW + barMax + 60;
    const groupH = kindList.length * barH + 12;
    const legendH = 22;
    const chart = svg('svg', { viewBox: `0 0 ${width} ${legendH + reps.length * groupH}`, width, role: 'img', 'aria-label': t('activity.label') });
    const legend = svg('g', { class: 'legend' });
    kindList.forEach((k, i) => {
      legend.append(svg('rect', { x: labelW + i * 90, y: 4, width: 10, height: 10, fill: KIND_COLORS[k] || '#334155' }));
      legend.append(svg('text', { x: labelW + i * 90 + 14, y: 13 }, I18n.name('kind', k)));
    });
    chart.append(legend);
    reps.forEach((rep, r) => {
      const y0 = legendH + r * groupH;
      chart.append(svg('text', { x: 0, y: y0 + groupH / 2 + 2 }, rep));
      kindList.forEach((k, i) => {
        const n = per.get(rep).get(k) || 0;
        const g = svg('g', { 'data-rep': rep, 'data-kind': k, 'data-count': n });
        g.append(svg('title', {}, `${rep} · ${I18n.name('kind', k)}: ${I18n.number(n)}`));
        g.append(svg('rect', { x: labelW, y: y0 + i * barH, width: n ? Math.max(2, (n / max) * barMax) : 0, height: barH - 3, fill: KIND_COLORS[k] || '#334155' }));
        if (n) g.append(svg('text', { x: labelW + (n / max) * barMax + 6, y: y0 + i * barH + 10 }, n));
        chart.append(g);
      });
    });
    box.append(chart);
  }

  function renderLadder(report) {
    const body = $('ladder').tBodies[0];
    body.replaceChildren();
    for (const row of report.rows) {
      body.append(el('tr', { 'data-rung': row.rung },
        el('th', { scope: 'row' }, I18n.name('rung', row.rung)),
        el('td', { class: 'num', 'data-testid': 'ladder-accounts' }, row.accounts),
        el('td', { class: 'num up' }, '▲ ' + row.moved_up_from),
        el('td', { class: 'num down' }, '▼ ' + row.moved_down_from)));
    }
  }

  function emptyRow(body, cols, text) {
    body.append(el('tr', {}, el('td', { colspan: cols, class: 'muted' }, text)));
  }

  function renderStale(report) {
    const body = $('stale-deals').tBodies[0];
    body.replaceChildren();
    for (const row of report.rows) {
      body.append(el('tr', { 'data-deal': row.deal_id },
        el('td', {}, accountButton(row.account_id, row.account)),
        el('td', {}, I18n.name('stage', row.stage)),
        el('td', {}, day(row.stage_changed_ms)),
        el('td', { class: 'num' }, row.stage_limit_days === null ? '—' : row.stage_limit_days),
        el('td', {}, day(row.last_touch_ms))));
    }
    if (!report.rows.length) emptyRow(body, 5, t('stale.none'));
  }

  function renderRisk(report) {
    const body = $('key-accounts').tBodies[0];
    body.replaceChildren();
    for (const row of report.rows) {
      body.append(el('tr', { 'data-account-row': row.account_id },
        el('td', {}, accountButton(row.account_id, row.account)),
        el('td', {}, row.owner || '—'),
        el('td', {}, day(row.last_touch_ms))));
    }
    if (!report.rows.length) emptyRow(body, 3, t('risk.none'));
  }

  function renderConflicts(report) {
    const body = $('open-conflicts').tBodies[0];
    body.replaceChildren();
    for (const row of report.rows) {
      const values = el('ul', { class: 'values' });
      for (const v of row.values || []) {
        values.append(el('li', { class: v.winner ? 'winner' : null, 'data-value': v.value, 'data-user': v.user },
          (v.value === '' ? t('cleared') : v.value) + ' (' + t('written-by', { user: v.user, device: v.device }) + ')'));
      }
      body.append(el('tr', { 'data-account-row': row.account_id, 'data-field': row.field, 'data-count': row.value_count },
        el('td', {}, accountButton(row.account_id, row.account)),
        el('td', {}, row.field),
        el('td', {}, values),
        el('td', {}, when(row.newest_ms))));
    }
    if (!report.rows.length) emptyRow(body, 4, t('conflicts.none'));
  }

  // "21–40 of 345" with previous / next buttons under a paged table.
  function renderPager(name, report) {
    const box = document.querySelector(`.pager[data-report="${name}"]`);
    const total = Number(report.total || 0);
    const offset = Number(report.offset || 0);
    const shown = report.rows.length;
    box.dataset.total = total;
    box.dataset.offset = offset;
    box.replaceChildren();
    if (!total) return;
    const range = shown
      ? t('pager.range', { from: offset + 1, to: offset + shown, total })
      : t('pager.none', { total });
    const go = (to) => { offsets[name] = Math.max(0, to); loadPaged(name); };
    const prev = el('button', { type: 'button', class: 'secondary', 'data-page': 'prev', 'aria-label': t('pager.prev'), onclick: () => go(offset - PAGE_ROWS) }, '‹');
    const next = el('button', { type: 'button', class: 'secondary', 'data-page': 'next', 'aria-label': t('pager.next'), onclick: () => go(offset + PAGE_ROWS) }, '›');
    prev.disabled = offset === 0;
    next.disabled = offset + shown >= total;
    box.append(prev, el('span', { class: 'range', role: 'status' }, range), next);
  }

  const PAGED = {
    'stale-deals': renderStale,
    'key-accounts-at-risk': renderRisk,
    'open-conflicts': renderConflicts,
  };

  // One page of a per-row report; a page left empty by a change goes back to the last one.
  async function fetchPaged(name, f) {
    let report = await api('/v1/reports/' + name, Object.assign({}, f, { limit: PAGE_ROWS, offset: offsets[name] }));
    if (!report.rows.length && offsets[name] > 0) {
      offsets[name] = Math.max(0, Math.floor((Number(report.total) - 1) / PAGE_ROWS) * PAGE_ROWS);
      report = await api('/v1/reports/' + name, Object.assign({}, f, { limit: PAGE_ROWS, offset: offsets[name] }));
    }
    return report;
  }

  function showPaged(name, report) {
    PAGED[name](report);
    renderPager(name, report);
  }

  async function loadPaged(name) {
    const gen = generation;
    try {
      const report = await fetchPaged(name, filters());
      if (gen === generation) showPaged(name, report);
    } catch (e) {
      handleError(e);
    }
  }

  // ---------- drill-down ----------
  async function drillIntoStage(stage) {
    drillStage = stage;
    const box = $('drill');
    $('drill-title').textContent = t('deals-in', { stage: I18n.name('stage', stage) });
    box.replaceChildren(el('p', { class: 'muted' }, t('loading')));
    try {
      const report = await api('/v1/dashboard/stage-deals', Object.assign({ stage }, filters()));
      if (drillStage !== stage) return;
      const list = el('ul', { 'data-testid': 'drill-list', 'data-stage': stage });
      for (const row of report.rows) {
        list.append(el('li', { 'data-deal': row.deal_id },
          accountButton(row.account_id, row.account), ' — ', money(row.amount_minor, row.currency),
          row.owner ? ' · ' + row.owner : ''));
      }
      box.replaceChildren(report.rows.length ? list : el('p', { class: 'muted' }, t('drill.none')));
    } catch (e) {
      handleError(e);
      box.replaceChildren(el('p', { class: 'error' }, t('drill.error', { message: e.message })));
    }
  }

  async function showHistory(id, name) {
    const box = $('history');
    historyShown = [id, name];
    $('history-title').textContent = t('history.of', { name: name || id });
    box.replaceChildren(el('p', { class: 'muted' }, t('loading')));
    try {
      const h = await api('/v1/reports/accounts/' + encodeURIComponent(id) + '/history');
      const table = el('table', { 'data-testid': 'history-table', 'data-account': id },
        el('thead', {}, el('tr', {}, ...['when', 'who', 'device', 'changes'].map((k) => el('th', { scope: 'col' }, t(k))))));
      const tbody = el('tbody');
      for (const c of [...h.changes].reverse()) {
        const changes = el('ul', { class: 'changes' });
        for (const f of c.changes || (c.fields || []).map((field) => ({ field }))) {
          changes.append(el('li', { 'data-field': f.field },
            el('span', { class: 'field' }, fieldLabel(f.field)), ': ',
            el('span', { class: 'old' }, shown(f.old)), ' → ', el('span', { class: 'new' }, shown(f.new))));
        }
        tbody.append(el('tr', { 'data-op': c.op },
          el('td', {}, when(c.at)), el('td', {}, c.user), el('td', {}, c.device), el('td', {}, changes)));
      }
      table.append(tbody);
      box.replaceChildren(el('p', { class: 'muted' }, t('history.count', { changes: h.changes.length, audit: h.audit.length })), table);
      document.getElementById('history-card').scrollIntoView({ block: 'nearest' });
    } catch (e) {
      handleError(e);
      box.replaceChildren(el('p', { class: 'error' }, t('history.error', { message: e.message })));
    }
  }

  // ---------- loading ----------
  function handleError(e) {
    if (e instanceof ApiError && e.status === 401) {
      signOut(t('token.refused-with', { message: e.message }));
      return;
    }
    showError(e.message);
  }

  async function refresh() {
    if (refreshing) { refreshQueued = true; return; }
    refreshing = true;
    const gen = ++generation;
    const f = filters();
    try {
      const version = await api('/v1/reports/version');
      const [pipeline, stages, ladder, activity, stale, risk, conflicts] = await Promise.all([
        api('/v1/reports/pipeline', f),
        api('/v1/reports/stages', f),
        api('/v1/reports/ladder', f),
        api('/v1/reports/rep-activity', f),
        fetchPaged('stale-deals', f),
        fetchPaged('key-accounts-at-risk', f),
        fetchPaged('open-conflicts', f),
      ]);
      if (gen !== generation) return;
      renderPipeline(pipeline);
      renderStages(stages);
      renderLadder(ladder);
      renderActivity(activity);
      showPaged('stale-deals', stale);
      showPaged('key-accounts-at-risk', risk);
      showPaged('open-conflicts', conflicts);
      loadedHead = version.head;
      $('head').textContent = String(version.head);
      $('updated').textContent = new Date().toLocaleTimeString(I18n.lang);
      document.body.dataset.head = String(version.head);
      showError('');
      if (drillStage) drillIntoStage(drillStage);
    } catch (e) {
      handleError(e);
    } finally {
      refreshing = false;
      if (refreshQueued) { refreshQueued = false; refresh(); }
    }
  }

  function headMoved(head) {
    if (head !== loadedHead) refresh();
  }

  // Live updates: Server-Sent Events read with fetch() (EventSource cannot send
  // an Authorization header); polling /v1/reports/version if the stream fails.
  async function startLive() {
    stopLive();
    const controller = new AbortController();
    live = controller;
    try {
      const res = await fetch('/v1/reports/events', {
        headers: { Authorization: 'Bearer ' + token, Accept: 'text/event-stream' },
        signal: controller.signal, cache: 'no-store',
      });
      if (!res.ok || !res.body) throw new ApiError(res.status, 'the events stream is unavailable');
      setLive('live');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = 'message', data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (event === 'head' && data) headMoved(Number(data));
        }
      }
      throw new Error('the events stream ended');
    } catch (e) {
      if (controller.signal.aborted || live !== controller) return;
      if (e instanceof ApiError && e.status === 401) { signOut(t('token.refused')); return; }
      startPolling();
      setTimeout(() => { if (live === controller && token) startLive(); }, 10000);
    }
  }

  function startPolling() {
    if (pollTimer) return;
    setLive('polling');
    pollTimer = setInterval(async () => {
      try { headMoved((await api('/v1/reports/version')).head); } catch (e) { handleError(e); }
    }, POLL_MS);
  }

  function stopLive() {
    if (live) live.abort();
    live = null;
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
    setLive('offline');
  }

  function setLive(mode) {
    const s = $('live-status');
    s.textContent = t('live.' + mode);
    s.className = mode === 'offline' ? '' : 'live';
    s.dataset.mode = mode;
  }

  // ---------- sign in / out ----------
  function showDashboard(on) {
    $('sign-in').hidden = on;
    $('dashboard').hidden = !on;
    $('sign-out').hidden = !on;
  }

  async function signIn(candidate) {
    token = candidate;
    const err = $('sign-in-error');
    err.hidden = true;
    try {
      await api('/v1/reports/version');
    } catch (e) {
      token = '';
      err.textContent = e instanceof ApiError && e.status === 401 ? t('token.refused') : t('unreachable', { message: e.message });
      err.hidden = false;
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    showDashboard(true);
    await refresh();
    startLive();
  }

  function signOut(message) {
    stopLive();
    token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    showDashboard(false);
    const err = $('sign-in-error');
    err.textContent = message || '';
    err.hidden = !message;
  }

  $('sign-in-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = $('token').value.trim();
    $('token').value = '';
    signIn(t);
  });
  $('sign-out').addEventListener('click', () => signOut(''));
  function firstPages() {
    for (const name of Object.keys(offsets)) offsets[name] = 0;
  }
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); filtersToUrl(); firstPages(); refresh(); });
  $('clear-filters').addEventListener('click', () => { $('filters').reset(); filtersToUrl(); firstPages(); refresh(); });
  filtersFromUrl();

  // Language: the page's words now, and everything again when it changes.
  I18n.translatePage();
  $('lang').value = I18n.lang;
  $('lang').addEventListener('change', () => {
    I18n.set($('lang').value);
    setLive($('live-status').dataset.mode || 'offline');
    if (!$('dashboard').hidden) {
      refresh();
      if (historyShown) showHistory(...historyShown);
    }
  });

  if (token) signIn(token); else showDashboard(false);
})();
