// Rapport manager dashboard. Every figure comes from the report API
// (/v1/reports/...) called with the device token kept in sessionStorage;
// every figure opens the deals or accounts behind it (/v1/reports/deals,
// /v1/reports/accounts, /v1/reports/interactions), and an account opens its
// history. The view (filters, period, the rep page) lives in the URL.
'use strict';

(function () {
  const TOKEN_KEY = 'rapport.token';
  const KIND_COLORS = { call: '#2563eb', meeting: '#0f766e', visit: '#9333ea', email: '#d97706', note: '#64748b' };
  const POLL_MS = 2000;
  // Rows per page of the per-row tables (the API pages them: limit/offset, total).
  const PAGE_ROWS = 20;
  const SVG_NS = 'http://www.w3.org/2000/svg';
  // The English names the settings start with: a stage still named so is
  // shown in the page's language; a renamed (or new) one by its settings name.
  const DEFAULT_STAGE_NAMES = {
    prospecting: 'Prospecting', qualification: 'Qualification', proposal: 'Proposal',
    negotiation: 'Negotiation', won: 'Won', lost: 'Lost',
  };

  const $ = (id) => document.getElementById(id);
  const I18n = window.RapportI18n;
  const t = I18n.t;
  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let loadedHead = null;
  let pendingHead = null; // the head the load under way read
  let generation = 0;
  let live = null; // AbortController of the events stream
  let pollTimer = null;
  let refreshQueued = false;
  let refreshing = false;
  let drill = null; // the open drill-down: { title(), load() }
  let historyShown = null; // [id, name] of the account whose history is shown
  let settings = { stages: [], byId: new Map() };
  // Offset of each paged table.
  const offsets = { 'overdue-deals': 0, 'stale-deals': 0, 'key-accounts-at-risk': 0, 'contact-depth': 0, 'open-conflicts': 0 };

  // ---------- helpers ----------
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(path, params) {
    const q = new URLSearchParams(params || {}).toString();
    const res = await fetch(path + (q ? '?' + q : ''), {
      headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
      cache: 'no-store',
    });
    if (!res.ok) {
      let message = t('server.status', { status: String(res.status) });
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
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'onclick') node.addEventListener('click', v);
      else node.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  const money = I18n.money;
  const num = I18n.number;

  // An instant in milliseconds as a date in the page's language.
  function day(ms) {
    if (ms === null || ms === undefined) return '—';
    return I18n.date(Number(ms));
  }

  // A calendar date (YYYY-MM-DD) in the page's language.
  function isoDay(d) {
    if (!d) return '—';
    const ms = Date.parse(d + 'T00:00:00Z');
    return Number.isNaN(ms) ? d : I18n.date(ms);
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

  // ---------- names ----------
  function stageName(id) {
    const s = settings.byId.get(id);
    if (s && DEFAULT_STAGE_NAMES[id] !== s.name) return s.name;
    return I18n.name('stage', id, s ? s.name : id);
  }

  function stageRank(id) {
    const s = settings.byId.get(id);
    return s ? s.order : Number.MAX_SAFE_INTEGER;
  }

  const humane = (id) => String(id).replace(/_/g, ' ');
  const reasonName = (id) => (id ? I18n.name('reason', id, humane(id)) : t('reason.none'));
  const phaseName = (id) => I18n.name('phase', id, humane(id));
  const forecastName = (id) => I18n.name('forecast', id, humane(id));
  const rungName = (id) => I18n.name('rung', id, id);
  const kindName = (id) => I18n.name('kind', id, id);

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

  function repButton(rep) {
    return el('button', { type: 'button', class: 'link', 'data-rep-link': rep, onclick: () => openRep(rep) }, rep);
  }

  // A button that opens the rows behind a figure.
  // A figure's accessible name starts with what it shows ("3: Accounts in phase: Early").
  function figureButton(text, attrs, open) {
    if (attrs['aria-label']) attrs = Object.assign({}, attrs, { 'aria-label': text + ': ' + attrs['aria-label'] });
    return el('button', Object.assign({ type: 'button', class: 'link figure', onclick: open }, attrs), text);
  }

  function emptyRow(body, cols, text) {
    body.append(el('tr', {}, el('td', { colspan: cols, class: 'muted' }, text)));
  }

  // Sums of amounts per currency as "€1,200.00 + 360 000,00 ₴".
  function amounts(list) {
    return list.map(([c, a]) => money(a, c)).join(' + ') || money(0, 'EUR');
  }

  // A bar cell whose fill is `share` (0–1) of the track.
  function bar(share) {
    const fill = el('span', { class: 'fill' });
    fill.style.width = Math.max(0, Math.min(1, share)) * 100 + '%';
    return el('span', { class: 'track', 'aria-hidden': 'true' }, fill);
  }

  // ---------- the view in the URL ----------
  const FILTERS = ['team', 'rep', 'territory', 'period', 'from', 'to'];

  function view() {
    const p = new URLSearchParams(location.search);
    return { page: p.get('view') === 'rep' && p.get('who') ? 'rep' : 'overview', who: p.get('who') };
  }

  function setView(page, who) {
    const url = new URL(location.href);
    if (page === 'rep') { url.searchParams.set('view', 'rep'); url.searchParams.set('who', who); } else { url.searchParams.delete('view'); url.searchParams.delete('who'); }
    history.pushState(null, '', url);
  }

  function field(key) { return $('f-' + key); }

  function filtersToUrl() {
    const url = new URL(location.href);
    for (const key of FILTERS) {
      const v = field(key).value.trim();
      if (v) url.searchParams.set(key, v); else url.searchParams.delete(key);
    }
    history.replaceState(null, '', url);
  }

  // A select keeps a value from the URL even before (or without) the
  // directory listing it.
  function setSelect(select, value) {
    if (value && ![...select.options].some((o) => o.value === value)) select.append(el('option', { value }, value));
    select.value = value || '';
  }

  function filtersFromUrl() {
    const p = new URLSearchParams(location.search);
    for (const key of ['team', 'rep', 'territory']) setSelect(field(key), p.get(key) || '');
    const period = p.get('period') || '';
    field('period').value = [...field('period').options].some((o) => o.value === period) ? period : '';
    field('from').value = p.get('from') || '';
    field('to').value = p.get('to') || '';
    // A preset is recomputed at each load, so "this month" stays this month.
    if (field('period').value && field('period').value !== 'custom') applyPreset(field('period').value);
  }

  // ---------- periods ----------
  const iso = (d) => d.toISOString().slice(0, 10);
  const utcDay = (y, m, d) => new Date(Date.UTC(y, m, d));

  // [from, to] of a preset, in UTC days (the server's days).
  function presetRange(preset, now = new Date()) {
    const y = now.getUTCFullYear(), m = now.getUTCMonth(), d = now.getUTCDate();
    const q = Math.floor(m / 3);
    switch (preset) {
      case 'week': {
        const monday = d - ((now.getUTCDay() + 6) % 7);
        return [utcDay(y, m, monday), utcDay(y, m, monday + 6)];
      }
      case 'month': return [utcDay(y, m, 1), utcDay(y, m + 1, 0)];
      case 'quarter': return [utcDay(y, q * 3, 1), utcDay(y, q * 3 + 3, 0)];
      case 'last-quarter': return [utcDay(y, q * 3 - 3, 1), utcDay(y, q * 3, 0)];
      case 'year': return [utcDay(y, 0, 1), utcDay(y, 11, 31)];
      default: return null;
    }
  }

  function applyPreset(preset) {
    const range = presetRange(preset);
    if (!range) { if (!preset) { field('from').value = ''; field('to').value = ''; } return; }
    field('from').value = iso(range[0]);
    field('to').value = iso(range[1]);
  }

  // The period in words, in the page's language (the date inputs follow the browser's).
  function showPeriod() {
    const from = field('from').value, to = field('to').value;
    const text = from && to ? t('period.range', { from: isoDay(from), to: isoDay(to) })
      : from ? t('period.from', { from: isoDay(from) }) : to ? t('period.to', { to: isoDay(to) }) : t('p.all');
    $('period-text').textContent = text;
  }

  // The filters as the API takes them.
  function filters() {
    const out = {};
    for (const key of ['team', 'rep', 'territory', 'from', 'to']) {
      const v = field(key).value.trim();
      if (v) out[key] = v;
    }
    return out;
  }

  // The filters of a figure that is as of today: the period never hides it.
  function asOfToday(f) {
    const out = Object.assign({}, f);
    delete out.from; delete out.to;
    return out;
  }

  // ---------- directory ----------
  async function loadDirectory() {
    let dir;
    try {
      dir = await api('/v1/directory');
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) throw e;
      return; // an older server: the selects keep what the URL gave
    }
    const fill = (select, names) => {
      const keep = select.value;
      select.replaceChildren(el('option', { value: '' }, t('f.all')));
      for (const n of [...new Set(names)].sort((a, b) => a.localeCompare(b))) select.append(el('option', { value: n }, n));
      setSelect(select, keep);
    };
    fill(field('team'), dir.teams || []);
    fill(field('rep'), (dir.users || []).filter((u) => u.active !== false).map((u) => u.name));
    fill(field('territory'), dir.territories || []);
  }

  async function loadSettings() {
    const s = await api('/v1/settings');
    settings = { stages: s.stages, byId: new Map(s.stages.map((st) => [st.id, st])), lost: s.lost_reasons, ended: s.end_reasons };
  }

  // ---------- overview rendering ----------
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
    $('open-deals').dataset.count = report.rows.reduce((s, r) => s + Number(r.open_deals), 0);
  }

  function renderWinRate(report) {
    const row = report.rows[0] || { won: 0, lost: 0, win_rate: null };
    const box = $('win-rate');
    box.dataset.won = row.won;
    box.dataset.lost = row.lost;
    box.dataset.rate = row.win_rate === null ? '' : row.win_rate;
    box.textContent = row.win_rate === null ? '—' : I18n.percent(row.win_rate);
    $('won-deals').textContent = t('won.n', { n: Number(row.won) });
    $('won-deals').dataset.count = row.won;
    $('lost-deals').textContent = t('lost.n', { n: Number(row.lost) });
    $('lost-deals').dataset.count = row.lost;
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
    // look alike), with the count beside. Amounts in different currencies
    // cannot be added up: each currency has its own bar, scaled to the
    // largest stage in that currency.
    const maxOf = new Map();
    for (const n of names) for (const [c, a] of stages.get(n).amounts) maxOf.set(c, Math.max(maxOf.get(c) || 0, a));
    const list = el('ul', { class: 'funnel' });
    const table = el('table', { class: 'sr-only', 'data-testid': 'funnel-table' },
      el('caption', {}, t('funnel.label')),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('stage')), el('th', { scope: 'col' }, t('deals')), el('th', { scope: 'col' }, t('amount')))));
    const tbody = el('tbody');
    for (const name of names) {
      const s = stages.get(name);
      const sum = amounts(s.amounts);
      const kind = (settings.byId.get(name) || {}).kind;
      const bars = el('span', { class: 'bars' }, ...s.amounts.map(([c, a]) => {
        const share = a / (maxOf.get(c) || 1);
        return el('span', { class: 'line', 'data-currency': c, 'data-share': share }, bar(share));
      }));
      const button = el('button', {
        type: 'button', class: kind === 'won' ? 'won' : kind === 'lost' ? 'lost' : null,
        'data-stage': name, 'data-testid': 'stage-' + name, 'data-count': s.count, 'data-bar-by': 'value',
        'data-amounts': s.amounts.map(([c, a]) => c + '=' + a).join(';'),
        'aria-pressed': drill && drill.stage === name ? 'true' : 'false',
      }, el('span', { class: 'name' }, stageName(name)), bars, el('span', { class: 'fig' }, `${num(s.count)} · ${sum}`),
      el('span', { class: 'sr-only' }, ' — ' + t('funnel.show')));
      button.addEventListener('click', () => drillStage(name));
      list.append(el('li', {}, button));
      tbody.append(el('tr', { 'data-stage-row': name }, el('th', { scope: 'row' }, stageName(name)),
        el('td', { class: 'num' }, num(s.count)), el('td', { class: 'num' }, sum)));
    }
    table.append(tbody);
    box.append(list, table);
  }

  // The largest amount per currency over groups of [currency, minor] pairs,
  // and each group's shares of it.
  function currencyShares(groups) {
    const max = new Map();
    for (const g of groups) for (const [c, a] of g) max.set(c, Math.max(max.get(c) || 0, a));
    return (g) => g.map(([c, a]) => [c, a / (max.get(c) || 1)]);
  }

  // A table of figures per key, with a bar per row and each figure opening its rows.
  function barTable(box, { caption, headers, rows, share, testid }) {
    const table = el('table', { class: 'bars', 'data-testid': testid },
      el('caption', { class: 'sr-only' }, caption),
      el('thead', {}, el('tr', {}, ...headers.map((h, i) => el('th', { scope: 'col', class: i ? 'num' : null }, h)),
        el('th', { scope: 'col', class: 'bar' }, el('span', { class: 'sr-only' }, t('share'))))));
    const tbody = el('tbody');
    // `share` gives a fraction, or [currency, fraction] pairs: one bar per
    // currency (amounts in different currencies are never added up).
    const bars = (s) => (Array.isArray(s)
      ? el('span', { class: 'bars' }, ...s.map(([c, x]) => el('span', { class: 'line', 'data-currency': c, 'data-share': x }, bar(x))))
      : bar(s));
    for (const r of rows) tbody.append(el('tr', r.attrs, el('th', { scope: 'row' }, r.name), ...r.cells.map((c) => el('td', { class: 'num' }, c)), el('td', { class: 'bar' }, bars(share(r)))));
    table.append(tbody);
    box.replaceChildren(rows.length ? table : el('p', { class: 'muted' }, t('none')));
  }

  function renderForecast(report) {
    const cats = new Map();
    for (const r of report.rows) {
      const c = cats.get(r.forecast) || { count: 0, amounts: [] };
      c.count += Number(r.deals);
      c.amounts.push([r.currency, Number(r.amount_minor)]);
      cats.set(r.forecast, c);
    }
    const order = ['commit', 'best_case', 'pipeline', 'closed'];
    const keys = [...cats.keys()].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
    const shares = currencyShares(keys.map((k) => cats.get(k).amounts));
    barTable($('forecast'), {
      caption: t('forecast'), testid: 'forecast-table', headers: [t('category'), t('deals'), t('amount')],
      share: (r) => shares(r.amounts),
      rows: keys.map((k) => {
        const c = cats.get(k);
        return {
          amounts: c.amounts, attrs: { 'data-forecast': k, 'data-count': c.count, 'data-amounts': c.amounts.map(([cur, a]) => cur + '=' + a).join(';') },
          name: figureButton(forecastName(k), { 'data-drill': 'forecast' }, () => openDeals(() => t('drill.forecast', { name: forecastName(k) }), { by: 'forecast', key: k })),
          cells: [num(c.count), amounts(c.amounts)],
        };
      }),
    });
  }

  function renderLostReasons(report) {
    const max = Math.max(1, ...report.rows.map((r) => Number(r.count)));
    barTable($('lost-reasons'), {
      caption: t('lost-reasons'), testid: 'lost-table', headers: [t('reason'), t('count')],
      share: (r) => r.n / max,
      rows: report.rows.map((r) => {
        const deal = r.record === 'deal';
        const label = (deal ? t('reason.deal') : t('reason.ended')) + ': ' + reasonName(r.reason);
        return {
          n: Number(r.count), attrs: { 'data-record': r.record, 'data-reason': r.reason, 'data-count': r.count },
          name: figureButton(label, { 'data-drill': 'lost' }, () => (deal
            ? openDeals(() => t('drill.lost', { name: reasonName(r.reason) }), { by: 'lost', key: r.reason })
            : openAccounts(() => t('drill.ended-reason', { name: reasonName(r.reason) }), { by: 'end-reason', key: r.reason }))),
          cells: [num(Number(r.count))],
        };
      }),
    });
  }

  function renderLifecycle(report) {
    const max = Math.max(1, ...report.rows.map((r) => Number(r.accounts)));
    barTable($('lifecycle'), {
      caption: t('lifecycle'), testid: 'lifecycle-table', headers: [t('phase'), t('accounts'), t('ended')],
      share: (r) => r.n / max,
      rows: report.rows.map((r) => ({
        n: Number(r.accounts), attrs: { 'data-phase': r.phase, 'data-accounts': r.accounts, 'data-ended': r.ended },
        name: phaseName(r.phase),
        cells: [
          figureButton(num(Number(r.accounts)), { 'data-drill': 'phase', 'aria-label': t('drill.phase', { name: phaseName(r.phase) }) },
            () => openAccounts(() => t('drill.phase', { name: phaseName(r.phase) }), { by: 'phase', key: r.phase })),
          figureButton(num(Number(r.ended)), { 'data-drill': 'ended-phase', 'aria-label': t('drill.ended-phase', { name: phaseName(r.phase) }) },
            () => openAccounts(() => t('drill.ended-phase', { name: phaseName(r.phase) }), { by: 'ended-phase', key: r.phase })),
        ],
      })),
    });
  }

  function renderConversion(report) {
    const box = $('conversion');
    const table = el('table', { 'data-testid': 'conversion-table' },
      el('caption', { class: 'sr-only' }, t('conversion')),
      el('thead', {}, el('tr', {}, ...[t('from-stage'), t('to-stage'), t('moves'), t('rate')].map((h, i) => el('th', { scope: 'col', class: i > 1 ? 'num' : null }, h)))));
    const tbody = el('tbody');
    for (const r of report.rows) {
      const title = t('drill.moved', { from: stageName(r.from_stage), to: stageName(r.to_stage) });
      tbody.append(el('tr', { 'data-from': r.from_stage, 'data-to': r.to_stage, 'data-moves': r.moves, 'data-rate': r.rate === null ? '' : r.rate },
        el('th', { scope: 'row' }, stageName(r.from_stage)), el('td', {}, stageName(r.to_stage)),
        el('td', { class: 'num' }, figureButton(num(Number(r.moves)), { 'data-drill': 'moved', 'aria-label': title },
          () => openDeals(() => t('drill.moved', { from: stageName(r.from_stage), to: stageName(r.to_stage) }), { by: 'moved', key: r.from_stage, to_stage: r.to_stage }))),
        el('td', { class: 'num' }, r.rate === null ? '—' : I18n.percent(r.rate))));
    }
    table.append(tbody);
    box.replaceChildren(report.rows.length ? table : el('p', { class: 'muted' }, t('conversion.none')));
  }

  function renderRepSummary(report) {
    const box = $('rep-summary');
    const cols = ['rep', 'accounts-owned', 'open-deals', 'planned-overdue', 'planned-today', 'planned-later'];
    const table = el('table', { 'data-testid': 'rep-summary-table' },
      el('caption', { class: 'sr-only' }, t('rep-summary')),
      el('thead', {}, el('tr', {}, ...cols.map((c, i) => el('th', { scope: 'col', class: i ? 'num' : null }, t(c))))));
    const tbody = el('tbody');
    for (const r of report.rows) {
      tbody.append(el('tr', { 'data-rep': r.rep, 'data-accounts': r.accounts_owned, 'data-open': r.open_deals, 'data-overdue': r.planned_overdue, 'data-today': r.planned_today, 'data-later': r.planned_later },
        el('th', { scope: 'row' }, repButton(r.rep)),
        el('td', { class: 'num' }, num(Number(r.accounts_owned))),
        el('td', { class: 'num' }, figureButton(num(Number(r.open_deals)), { 'data-drill': 'rep-open', 'aria-label': t('drill.rep-open', { rep: r.rep }) },
          () => openDeals(() => t('drill.rep-open', { rep: r.rep }), { by: 'open', rep: r.rep }, { today: true }))),
        el('td', { class: 'num' + (Number(r.planned_overdue) ? ' bad' : '') }, num(Number(r.planned_overdue))),
        el('td', { class: 'num' }, num(Number(r.planned_today))),
        el('td', { class: 'num' }, num(Number(r.planned_later)))));
    }
    table.append(tbody);
    box.replaceChildren(report.rows.length ? el('div', { class: 'scroll' }, table) : el('p', { class: 'muted' }, t('none')));
  }

  function activityChart(rows, label) {
    const per = new Map();
    const kinds = new Set();
    for (const row of rows) {
      const rep = row.rep || '—';
      const m = per.get(rep) || new Map();
      m.set(row.kind, (m.get(row.kind) || 0) + Number(row.interactions));
      per.set(rep, m);
      kinds.add(row.kind);
    }
    if (!per.size) return [el('p', { class: 'muted' }, t('activity.none'))];
    const kindList = [...kinds].sort();
    const reps = [...per.keys()].sort();
    const max = Math.max(...reps.flatMap((r) => [...per.get(r).values()]), 1);
    const barH = 14, labelW = 110, barMax = 420, width = labelW + barMax + 60;
    const groupH = kindList.length * barH + 12;
    const legendH = 22;
    const chart = svg('svg', { viewBox: `0 0 ${width} ${legendH + reps.length * groupH}`, width, 'aria-hidden': 'true' });
    const legend = svg('g', { class: 'legend' });
    kindList.forEach((k, i) => {
      legend.append(svg('rect', { x: labelW + i * 90, y: 4, width: 10, height: 10, fill: KIND_COLORS[k] || '#334155' }));
      legend.append(svg('text', { x: labelW + i * 90 + 14, y: 13 }, kindName(k)));
    });
    chart.append(legend);
    const table = el('table', { class: 'sr-only', 'data-testid': 'activity-table' }, el('caption', {}, label),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('rep')), ...kindList.map((k) => el('th', { scope: 'col' }, kindName(k))))));
    const tbody = el('tbody');
    reps.forEach((rep, r) => {
      const y0 = legendH + r * groupH;
      chart.append(svg('text', { x: 0, y: y0 + groupH / 2 + 2 }, rep));
      kindList.forEach((k, i) => {
        const n = per.get(rep).get(k) || 0;
        const g = svg('g', { 'data-rep': rep, 'data-kind': k, 'data-count': n });
        g.append(svg('rect', { x: labelW, y: y0 + i * barH, width: n ? Math.max(2, (n / max) * barMax) : 0, height: barH - 3, fill: KIND_COLORS[k] || '#334155' }));
        if (n) g.append(svg('text', { x: labelW + (n / max) * barMax + 6, y: y0 + i * barH + 10 }, num(n)));
        chart.append(g);
      });
      tbody.append(el('tr', { 'data-rep': rep }, el('th', { scope: 'row' }, rep), ...kindList.map((k) => el('td', { class: 'num' }, num(per.get(rep).get(k) || 0)))));
    });
    table.append(tbody);
    return [chart, table];
  }

  function renderActivity(report) {
    $('activity').replaceChildren(...activityChart(report.rows, t('activity.label')));
  }

  function renderLadder(report) {
    const body = $('ladder').tBodies[0];
    body.replaceChildren();
    for (const row of report.rows) {
      body.append(el('tr', { 'data-rung': row.rung },
        el('th', { scope: 'row' }, rungName(row.rung)),
        el('td', { class: 'num', 'data-testid': 'ladder-accounts' }, figureButton(num(Number(row.accounts)), { 'data-drill': 'rung', 'aria-label': t('drill.rung', { name: rungName(row.rung) }) },
          () => openAccounts(() => t('drill.rung', { name: rungName(row.rung) }), { by: 'rung', key: row.rung }))),
        el('td', { class: 'num up' }, '▲ ' + num(Number(row.moved_up_from))),
        el('td', { class: 'num down' }, '▼ ' + num(Number(row.moved_down_from)))));
    }
  }

  function renderOverdue(report) {
    const body = $('overdue-deals').tBodies[0];
    body.replaceChildren();
    for (const row of report.rows) {
      body.append(el('tr', { 'data-deal': row.deal_id },
        el('td', {}, accountButton(row.account_id, row.account)),
        el('td', {}, stageName(row.stage)),
        el('td', { class: 'bad' }, isoDay(row.expected_close)),
        el('td', { class: 'num' }, money(row.amount_minor, row.currency))));
    }
    if (!report.rows.length) emptyRow(body, 4, t('overdue.none'));
    const count = $('overdue-count');
    count.dataset.total = report.total;
    count.textContent = num(Number(report.total || 0));
  }

  function renderStale(report) {
    const body = $('stale-deals').tBodies[0];
    body.replaceChildren();
    for (const row of report.rows) {
      body.append(el('tr', { 'data-deal': row.deal_id },
        el('td', {}, accountButton(row.account_id, row.account)),
        el('td', {}, stageName(row.stage)),
        el('td', {}, day(row.stage_changed_ms)),
        el('td', { class: 'num' }, row.stage_limit_days === null ? '—' : num(row.stage_limit_days)),
        el('td', {}, day(row.last_touch_ms))));
    }
    if (!report.rows.length) emptyRow(body, 5, t('stale.none'));
  }

  function renderRisk(report, table = $('key-accounts')) {
    const body = table.tBodies[0];
    body.replaceChildren();
    for (const row of report.rows) {
      body.append(el('tr', { 'data-account-row': row.account_id },
        el('td', {}, accountButton(row.account_id, row.account)),
        el('td', {}, row.owner || '—'),
        el('td', {}, day(row.last_touch_ms))));
    }
    if (!report.rows.length) emptyRow(body, 3, t('risk.none'));
  }

  function renderDepth(report) {
    const body = $('contact-depth').tBodies[0];
    body.replaceChildren();
    for (const row of report.rows) {
      body.append(el('tr', { 'data-account-row': row.account_id, 'data-contacts': row.contacts_engaged, 'data-held': row.interactions_held },
        el('td', {}, accountButton(row.account_id, row.account)),
        el('td', { class: 'num' }, num(Number(row.contacts_engaged))),
        el('td', { class: 'num' }, num(Number(row.interactions_held))),
        el('td', {}, day(row.last_touch_ms)),
        el('td', {}, day(row.next_touch_ms))));
    }
    if (!report.rows.length) emptyRow(body, 5, t('none'));
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
        el('td', {}, fieldLabel(row.field)),
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
    const count = report.rows.length;
    box.dataset.total = total;
    box.dataset.offset = offset;
    box.replaceChildren();
    if (!total) return;
    const range = count
      ? t('pager.range', { from: offset + 1, to: offset + count, total })
      : t('pager.none', { total });
    const go = (to) => { offsets[name] = Math.max(0, to); loadPaged(name); };
    const prev = el('button', { type: 'button', class: 'secondary', 'data-page': 'prev', 'aria-label': t('pager.prev'), onclick: () => go(offset - PAGE_ROWS) }, '‹');
    const next = el('button', { type: 'button', class: 'secondary', 'data-page': 'next', 'aria-label': t('pager.next'), onclick: () => go(offset + PAGE_ROWS) }, '›');
    prev.disabled = offset === 0;
    next.disabled = offset + count >= total;
    box.append(prev, el('span', { class: 'range', role: 'status' }, range), next);
  }

  // Each paged table: how it renders, and whether the period applies to it.
  const PAGED = {
    'overdue-deals': [renderOverdue, false],
    'stale-deals': [renderStale, false],
    'key-accounts-at-risk': [renderRisk, false],
    'contact-depth': [renderDepth, true],
    'open-conflicts': [renderConflicts, true],
  };

  // One page of a per-row report; a page left empty by a change goes back to the last one.
  async function fetchPaged(name, f) {
    const params = PAGED[name][1] ? f : asOfToday(f);
    let report = await api('/v1/reports/' + name, Object.assign({}, params, { limit: PAGE_ROWS, offset: offsets[name] }));
    if (!report.rows.length && offsets[name] > 0) {
      offsets[name] = Math.max(0, Math.floor((Number(report.total) - 1) / PAGE_ROWS) * PAGE_ROWS);
      report = await api('/v1/reports/' + name, Object.assign({}, params, { limit: PAGE_ROWS, offset: offsets[name] }));
    }
    return report;
  }

  function showPaged(name, report) {
    PAGED[name][0](report);
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

  // ---------- drill-downs ----------
  // The deal table: title, amount, stage, probability, close date, next step, owner, last touch.
  function dealTable(rows) {
    const cols = ['account', 'deal', 'amount', 'stage', 'probability', 'close-date', 'next-step', 'owner', 'last-touch'];
    const table = el('table', { class: 'deals', 'data-testid': 'drill-deals' },
      el('thead', {}, el('tr', {}, ...cols.map((c) => el('th', { scope: 'col', class: c === 'amount' || c === 'probability' ? 'num' : null }, t(c))))));
    const tbody = el('tbody');
    const today = new Date().toISOString().slice(0, 10);
    for (const r of rows) {
      const late = r.expected_close && r.expected_close < today && (settings.byId.get(r.stage) || {}).kind === 'open';
      tbody.append(el('tr', { 'data-deal': r.deal_id, 'data-amount': r.amount_minor, 'data-currency': r.currency, 'data-stage': r.stage },
        el('td', {}, accountButton(r.account_id, r.account)),
        el('td', { class: 'wrap' }, r.title || '—'),
        el('td', { class: 'num' }, money(r.amount_minor, r.currency)),
        el('td', {}, stageName(r.stage)),
        el('td', { class: 'num' }, I18n.percent(Number(r.probability) / 100)),
        el('td', { class: late ? 'bad' : null }, isoDay(r.expected_close)),
        el('td', { class: 'wrap' }, r.next_step || '—'),
        el('td', {}, r.owner || '—'),
        el('td', {}, day(r.last_touch_ms))));
    }
    table.append(tbody);
    return el('div', { class: 'scroll' }, table);
  }

  function accountTable(rows) {
    const cols = ['account', 'owner', 'phase', 'rung', 'last-touch', 'ended-on', 'reason'];
    const table = el('table', { class: 'deals', 'data-testid': 'drill-accounts' },
      el('thead', {}, el('tr', {}, ...cols.map((c) => el('th', { scope: 'col' }, t(c))))));
    const tbody = el('tbody');
    for (const r of rows) {
      tbody.append(el('tr', { 'data-account-row': r.account_id },
        el('td', {}, accountButton(r.account_id, r.account)),
        el('td', {}, r.owner || '—'),
        el('td', {}, phaseName(r.phase)),
        el('td', {}, rungName(r.rung)),
        el('td', {}, day(r.last_touch_ms)),
        el('td', {}, isoDay(r.ended_on)),
        el('td', {}, r.end_reason ? reasonName(r.end_reason) : '—')));
    }
    table.append(tbody);
    return el('div', { class: 'scroll' }, table);
  }

  // Planned interactions with when they are due (overdue, today, later), or held ones.
  function interactionTable(rows, planned = true) {
    const cols = planned ? ['account', 'kind', 'when', 'due'] : ['account', 'kind', 'when'];
    const table = el('table', { 'data-testid': 'interactions' },
      el('thead', {}, el('tr', {}, ...cols.map((c) => el('th', { scope: 'col' }, t(c))))));
    const tbody = el('tbody');
    const startOfDay = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
    for (const r of rows) {
      const at = Number(r.at_ms);
      const due = at < startOfDay ? 'overdue' : at < startOfDay + 86400000 ? 'today' : 'later';
      tbody.append(el('tr', { 'data-interaction': r.interaction_id, 'data-due': due },
        el('td', {}, accountButton(r.account_id, r.account)),
        el('td', {}, kindName(r.kind)),
        el('td', {}, when(at)),
        planned ? el('td', { class: due === 'overdue' ? 'bad' : null }, t('due.' + due)) : null));
    }
    table.append(tbody);
    return el('div', { class: 'scroll' }, table);
  }

  // Opens a drill-down in the panel beside the chart: `load` fetches the rows,
  // `table` renders them. Re-run when the data or the filters change.
  async function openDrill(next) {
    drill = next;
    const box = $('drill');
    $('drill-title').textContent = next.title();
    // A drill-down opened again (the data moved) keeps its rows until the new ones come.
    if (box.dataset.drill !== next.id) {
      box.replaceChildren(el('p', { class: 'muted' }, t('loading')));
      delete box.dataset.drill;
    }
    for (const b of document.querySelectorAll('ul.funnel button')) b.setAttribute('aria-pressed', b.dataset.stage === next.stage ? 'true' : 'false');
    if (next.scroll) $('drill-card').scrollIntoView({ block: 'nearest' });
    $('drill-export').hidden = false;
    try {
      const [name, params] = next.source();
      const report = await api('/v1/reports/' + name, params);
      if (drill !== next) return;
      box.replaceChildren(report.rows.length
        ? next.table(report.rows)
        : el('p', { class: 'muted' }, t('drill.none')));
      box.dataset.drill = next.id;
      box.dataset.count = report.rows.length;
    } catch (e) {
      handleError(e);
      box.replaceChildren(el('p', { class: 'error' }, t('drill.error', { message: e.message })));
    }
  }

  // Deals behind a figure; `opts.today`: a figure as of today (no period).
  // `title` is a function, so that it follows a change of language.
  function openDeals(title, params, opts = {}) {
    const id = 'deals:' + new URLSearchParams(params).toString();
    openDrill({
      id, title, table: dealTable, scroll: true, stage: params.by === 'stage' ? params.key : null,
      source: () => ['deals', Object.assign(opts.today ? asOfToday(filters()) : filters(), params)],
    });
  }

  function openAccounts(title, params) {
    openDrill({
      id: 'accounts:' + new URLSearchParams(params).toString(), title, table: accountTable, scroll: true,
      source: () => ['accounts', Object.assign(filters(), params)],
    });
  }

  function drillStage(stage) {
    openDrill({
      id: 'deals:by=stage&key=' + stage, stage, title: () => t('deals-in', { stage: stageName(stage) }), table: dealTable,
      source: () => ['deals', Object.assign(filters(), { by: 'stage', key: stage })],
    });
  }

  async function showHistory(id, name) {
    const box = $('history');
    historyShown = [id, name];
    $('history-card').hidden = false;
    $('history-title').textContent = t('history.of', { name: name || id });
    box.replaceChildren(el('p', { class: 'muted' }, t('loading')));
    try {
      const h = await api('/v1/reports/accounts/' + encodeURIComponent(id) + '/history');
      const table = el('table', { 'data-testid': 'history-table', 'data-account': id },
        el('thead', {}, el('tr', {}, ...['made', 'received', 'who', 'device', 'changes'].map((k) => el('th', { scope: 'col' }, t(k))))));
      const tbody = el('tbody');
      for (const c of [...h.changes].reverse()) {
        const changes = el('ul', { class: 'changes' });
        for (const f of c.changes || (c.fields || []).map((fld) => ({ field: fld }))) {
          changes.append(el('li', { 'data-field': f.field },
            el('span', { class: 'field' }, fieldLabel(f.field)), ': ',
            el('span', { class: 'old' }, shown(f.old)), ' → ', el('span', { class: 'new' }, shown(f.new))));
        }
        tbody.append(el('tr', { 'data-op': c.op },
          el('td', {}, when(c.at)), el('td', { 'data-received': c.received || '' }, c.received ? when(c.received) : '—'),
          el('td', {}, c.user), el('td', {}, c.device), el('td', {}, changes)));
      }
      table.append(tbody);
      box.replaceChildren(el('p', { class: 'muted' }, t('history.count', { changes: h.changes.length, audit: h.audit.length })), el('div', { class: 'scroll' }, table));
      $('history-card').scrollIntoView({ block: 'nearest' });
    } catch (e) {
      handleError(e);
      box.replaceChildren(el('p', { class: 'error' }, t('history.error', { message: e.message })));
    }
  }

  // ---------- the per-rep page ----------
  function openRep(rep) {
    setView('rep', rep);
    route();
  }

  // The drill-down and history panels sit beside what opened them.
  function placePanels(page) {
    const after = page === 'rep' ? $('rep-pipeline').closest('section') : $('funnel-card');
    after.after($('drill-card'), $('history-card'));
  }

  async function renderRepPage(who, f, gen) {
    const own = Object.assign({}, f, { rep: who });
    const notRep = Object.assign({}, f);
    delete notRep.rep;
    const [summary, stages, activity, overdue, planned, risk, held] = await Promise.all([
      api('/v1/reports/rep-summary', asOfToday(notRep)),
      api('/v1/reports/stages', own),
      api('/v1/reports/rep-activity', notRep),
      api('/v1/reports/deals', Object.assign(asOfToday(own), { by: 'overdue' })),
      api('/v1/reports/interactions', Object.assign(asOfToday(notRep), { by: 'planned', key: who })),
      api('/v1/reports/key-accounts-at-risk', Object.assign(asOfToday(own), { limit: 100 })),
      api('/v1/reports/interactions', Object.assign({}, notRep, { by: 'held', key: who })),
    ]);
    if (gen !== generation) return;
    $('rep-title').textContent = t('rep.title', { rep: who });
    const row = summary.rows.find((r) => r.rep === who) || { accounts_owned: 0, open_deals: 0, planned_overdue: 0, planned_today: 0, planned_later: 0 };
    const figs = $('rep-figures');
    figs.replaceChildren(...[['accounts-owned', row.accounts_owned], ['open-deals', row.open_deals], ['planned-overdue', row.planned_overdue],
      ['planned-today', row.planned_today], ['planned-later', row.planned_later]].map(([k, v]) =>
      el('div', { 'data-figure': k, 'data-value': v }, el('strong', {}, num(Number(v))), t(k))));
    // Their pipeline: stages with the value bars and counts.
    const per = new Map();
    for (const r of stages.rows) {
      const s = per.get(r.stage) || { count: 0, amounts: [] };
      s.count += Number(r.deals); s.amounts.push([r.currency, Number(r.amount_minor)]);
      per.set(r.stage, s);
    }
    const keys = [...per.keys()].sort((a, b) => stageRank(a) - stageRank(b));
    const shares = currencyShares(keys.map((k) => per.get(k).amounts));
    barTable($('rep-pipeline'), {
      caption: t('rep.pipeline'), testid: 'rep-pipeline-table', headers: [t('stage'), t('deals'), t('amount')], share: (r) => shares(r.amounts),
      rows: keys.map((k) => ({
        amounts: per.get(k).amounts, attrs: { 'data-stage': k, 'data-count': per.get(k).count },
        name: figureButton(stageName(k), { 'data-drill': 'stage' }, () => openDeals(() => t('deals-in', { stage: stageName(k) }), { by: 'stage', key: k, rep: who })),
        cells: [num(per.get(k).count), amounts(per.get(k).amounts)],
      })),
    });
    // Their activity: the chart, and the interactions it counts.
    $('rep-activity').replaceChildren(...activityChart(activity.rows.filter((r) => r.rep === who), t('rep.activity')),
      held.rows.length ? interactionTable(held.rows, false) : '');
    $('rep-activity').dataset.held = held.rows.length;
    $('rep-overdue').replaceChildren(overdue.rows.length ? dealTable(overdue.rows) : el('p', { class: 'muted' }, t('overdue.none')));
    $('rep-overdue').dataset.count = overdue.rows.length;
    $('rep-planned').replaceChildren(planned.rows.length ? interactionTable(planned.rows) : el('p', { class: 'muted' }, t('none')));
    $('rep-planned').dataset.count = planned.rows.length;
    const riskTable = el('table', { 'data-testid': 'rep-risk-table' },
      el('thead', {}, el('tr', {}, ...['account', 'owner', 'last-touch'].map((k) => el('th', { scope: 'col' }, t(k))))), el('tbody'));
    renderRisk(risk, riskTable);
    $('rep-risk').replaceChildren(riskTable);
    $('rep-risk').dataset.count = risk.total;
  }

  // ---------- loading ----------
  function handleError(e) {
    if (e instanceof ApiError && e.status === 401) {
      signOut(t('token.refused-with', { message: e.message }));
      return;
    }
    showError(e.message);
  }

  function route() {
    const v = view();
    $('overview').hidden = v.page !== 'overview';
    $('rep-page').hidden = v.page !== 'rep';
    placePanels(v.page);
    refresh();
  }

  // ---------- a closed period as known then and now ----------
  // The instant a period ends: the day after `to`, 00:00 UTC (the server's days).
  function periodEnd(f) {
    if (!f.to) return null;
    const end = new Date(f.to + 'T00:00:00Z');
    end.setUTCDate(end.getUTCDate() + 1);
    return Number.isNaN(end.getTime()) ? null : end;
  }

  // The figures of a closed period as the server knew them when it ended,
  // beside the same figures now, and the late edits that make the difference.
  async function refreshKnown(f, now, gen) {
    const end = periodEnd(f);
    const card = $('known-card');
    if (!end || end > new Date()) { card.hidden = true; return; }
    const knownAt = end.toISOString().replace(/\.\d+Z$/, 'Z');
    const [pipeline, winRate, late] = await Promise.all([
      api('/v1/reports/pipeline', Object.assign({}, f, { known_at: knownAt })),
      api('/v1/reports/win-rate', Object.assign({}, f, { known_at: knownAt })),
      api('/v1/reports/late-edits', Object.assign({}, f, { limit: 100 })),
    ]);
    if (gen !== generation) return;
    card.hidden = false;
    card.dataset.knownAt = knownAt;
    $('known-text').textContent = t('known.text', { at: when(knownAt) });
    const rows = [];
    const currencies = [...new Set([...pipeline.rows, ...now.pipeline.rows].map((r) => r.currency))].sort();
    const of = (report, currency, key) => Number((report.rows.find((r) => r.currency === currency) || {})[key] || 0);
    for (const c of currencies) {
      rows.push({ key: 'weighted-' + c, label: t('known.weighted', { currency: c }), then: of(pipeline, c, 'weighted_minor'), now: of(now.pipeline, c, 'weighted_minor'), show: (v) => money(v, c) });
    }
    const sum = (report, key) => report.rows.reduce((s, r) => s + Number(r[key] || 0), 0);
    rows.push({ key: 'open', label: t('known.open'), then: sum(pipeline, 'open_deals'), now: sum(now.pipeline, 'open_deals'), show: num });
    const wr = (report) => report.rows[0] || { won: 0, lost: 0, win_rate: null };
    rows.push({ key: 'won', label: t('known.won'), then: Number(wr(winRate).won), now: Number(wr(now.winRate).won), show: num });
    rows.push({ key: 'lost', label: t('known.lost'), then: Number(wr(winRate).lost), now: Number(wr(now.winRate).lost), show: num });
    const rate = (v) => (v === null || v === undefined ? '—' : I18n.percent(v));
    const table = el('table', { 'data-testid': 'known-table' },
      el('caption', { class: 'sr-only' }, t('known')),
      el('thead', {}, el('tr', {}, ...[t('known.figure'), t('known.then'), t('known.now'), t('known.diff')].map((h, i) => el('th', { scope: 'col', class: i ? 'num' : null }, h)))));
    const tbody = el('tbody');
    for (const r of rows) {
      const diff = r.now - r.then;
      tbody.append(el('tr', { 'data-figure': r.key, 'data-then': r.then, 'data-now': r.now, class: diff ? 'moved' : null },
        el('th', { scope: 'row' }, r.label), el('td', { class: 'num' }, r.show(r.then)), el('td', { class: 'num' }, r.show(r.now)),
        el('td', { class: 'num' }, diff ? (diff > 0 ? '+' : '−') + r.show(Math.abs(diff)) : '—')));
    }
    tbody.append(el('tr', { 'data-figure': 'rate' }, el('th', { scope: 'row' }, t('known.rate')),
      el('td', { class: 'num' }, rate(wr(winRate).win_rate)), el('td', { class: 'num' }, rate(wr(now.winRate).win_rate)), el('td', {}, '')));
    table.append(tbody);
    $('known').replaceChildren(el('div', { class: 'scroll' }, table));
    renderLate(late);
  }

  // A value of a late edit: a stage by its name.
  function lateValue(fieldPath, value) {
    if (value && /\.stage$/.test(fieldPath)) return stageName(value);
    return shown(value);
  }

  function renderLate(report) {
    const box = $('late-edits');
    box.dataset.total = report.total;
    if (!report.rows.length) { box.replaceChildren(el('p', { class: 'muted' }, t('late.none'))); return; }
    const heads = ['account', 'field', 'old-new', 'who', 'device', 'made', 'received', 'late.hours', 'won-delta', 'weighted-delta'];
    const table = el('table', { 'data-testid': 'late-table' },
      el('caption', { class: 'sr-only' }, t('late')),
      el('thead', {}, el('tr', {}, ...heads.map((h, i) => el('th', { scope: 'col', class: i >= 7 ? 'num' : null }, t(h))))));
    const tbody = el('tbody');
    const delta = (v, c) => (v === null || v === undefined || !c ? '' : (Number(v) > 0 ? '+' : Number(v) < 0 ? '−' : '') + money(Math.abs(Number(v)), c));
    for (const r of report.rows) {
      tbody.append(el('tr', { 'data-seq': r.seq, 'data-field': r.field, 'data-won-delta': r.won_delta_minor === null ? '' : r.won_delta_minor },
        el('td', {}, accountButton(r.account_id, r.account)), el('td', {}, fieldLabel(r.field)),
        el('td', {}, lateValue(r.field, r.old_value), ' → ', lateValue(r.field, r.new_value)),
        el('td', {}, r.user), el('td', {}, r.device), el('td', {}, when(r.made_ms)), el('td', {}, when(r.received_ms)),
        el('td', { class: 'num' }, t('late.h', { n: num(Number(r.late_hours)) })),
        el('td', { class: 'num' }, delta(r.won_delta_minor, r.currency)), el('td', { class: 'num' }, delta(r.weighted_delta_minor, r.currency))));
    }
    table.append(tbody);
    box.replaceChildren(el('p', { class: 'muted' }, t('late.count', { n: Number(report.total) })), el('div', { class: 'scroll' }, table));
  }

  async function refreshOverview(f, gen) {
    const [pipeline, stages, winRate, forecast, lost, lifecycle, conversion, summary, ladder, activity, ...paged] = await Promise.all([
      api('/v1/reports/pipeline', f),
      api('/v1/reports/stages', f),
      api('/v1/reports/win-rate', f),
      api('/v1/reports/forecast', f),
      api('/v1/reports/lost-reasons', f),
      api('/v1/reports/lifecycle', f),
      api('/v1/reports/stage-conversion', f),
      api('/v1/reports/rep-summary', asOfToday(f)),
      api('/v1/reports/ladder', f),
      api('/v1/reports/rep-activity', f),
      ...Object.keys(PAGED).map((name) => fetchPaged(name, f)),
    ]);
    if (gen !== generation) return;
    renderPipeline(pipeline);
    renderStages(stages);
    renderWinRate(winRate);
    renderForecast(forecast);
    renderLostReasons(lost);
    renderLifecycle(lifecycle);
    renderConversion(conversion);
    renderRepSummary(summary);
    renderLadder(ladder);
    renderActivity(activity);
    Object.keys(PAGED).forEach((name, i) => showPaged(name, paged[i]));
    await refreshKnown(f, { pipeline, winRate }, gen);
  }

  async function refresh() {
    if (refreshing) { refreshQueued = true; return; }
    refreshing = true;
    document.body.dataset.busy = 'true';
    const gen = ++generation;
    const f = filters();
    const v = view();
    document.body.dataset.view = v.page;
    try {
      const version = await api('/v1/reports/version');
      pendingHead = version.head;
      await loadSettings();
      if (v.page === 'rep') await renderRepPage(v.who, f, gen); else await refreshOverview(f, gen);
      if (gen !== generation) return;
      loadedHead = version.head;
      $('head').textContent = String(version.head);
      $('updated').textContent = new Date().toLocaleTimeString(I18n.lang);
      document.body.dataset.head = String(version.head);
      document.body.dataset.loaded = v.page + ':' + new URLSearchParams(f).toString();
      showError('');
      if (drill) openDrill(Object.assign({}, drill, { scroll: false }));
    } catch (e) {
      handleError(e);
    } finally {
      refreshing = false;
      pendingHead = null;
      if (refreshQueued) { refreshQueued = false; refresh(); } else document.body.dataset.busy = 'false';
    }
  }

  // The log moved: load again, unless the load under way already has this head.
  function headMoved(head) {
    if (head !== loadedHead && head !== pendingHead) refresh();
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
    try { await loadDirectory(); } catch (e) { handleError(e); return; }
    route();
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
    const value = $('token').value.trim();
    $('token').value = '';
    signIn(value);
  });
  $('sign-out').addEventListener('click', () => signOut(''));
  // ---------- exports ----------
  // The reports that are as of today on the page are exported so too.
  const AS_OF_TODAY = new Set(['rep-summary', 'overdue-deals', 'stale-deals', 'key-accounts-at-risk']);

  // Downloads report `name` as `format` (csv or xlsx) with the page's
  // filters. fetch() carries the token; the file is handed to the browser
  // from a blob, so the token never appears in a URL.
  function download(format) {
    const name = $('export-report').value;
    return downloadReport(name, AS_OF_TODAY.has(name) ? asOfToday(filters()) : filters(), format);
  }

  // The rows of the drill-down on show, as a file.
  function downloadDrill(format) {
    if (!drill) return;
    const [name, params] = drill.source();
    return downloadReport(name, params, format);
  }

  async function downloadReport(name, params, format) {
    const q = new URLSearchParams(Object.assign({}, params, { format })).toString();
    showError('');
    try {
      const res = await fetch('/v1/reports/' + name + '?' + q, {
        headers: { Authorization: 'Bearer ' + token }, cache: 'no-store',
      });
      if (!res.ok) {
        let message = t('server.status', { status: String(res.status) });
        try {
          const body = await res.json();
          if (body && body.error && body.error.message) message = body.error.message;
        } catch (_) { /* not JSON */ }
        throw new ApiError(res.status, message);
      }
      const url = URL.createObjectURL(await res.blob());
      const a = el('a', { href: url, download: name + '.' + format, hidden: 'hidden' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      handleError(e);
    }
  }

  function firstPages() {
    for (const name of Object.keys(offsets)) offsets[name] = 0;
  }
  $('f-period').addEventListener('change', () => { applyPreset($('f-period').value); showPeriod(); });
  for (const id of ['f-from', 'f-to']) $(id).addEventListener('input', () => { $('f-period').value = 'custom'; showPeriod(); });
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); filtersToUrl(); firstPages(); refresh(); });
  $('clear-filters').addEventListener('click', () => {
    for (const key of FILTERS) field(key).value = '';
    showPeriod(); filtersToUrl(); firstPages(); refresh();
  });
  $('open-deals').addEventListener('click', () => openDeals(() => t('drill.open'), { by: 'open' }));
  $('won-deals').addEventListener('click', () => openDeals(() => t('drill.won'), { by: 'won' }));
  $('lost-deals').addEventListener('click', () => openDeals(() => t('drill.lost-all'), { by: 'lost' }));
  $('overdue-deals-button').addEventListener('click', () => openDeals(() => t('overdue'), { by: 'overdue' }, { today: true }));
  $('rep-back').addEventListener('click', () => { setView('overview'); route(); });
  $('export-csv').addEventListener('click', () => download('csv'));
  $('export-xlsx').addEventListener('click', () => download('xlsx'));
  $('drill-csv').addEventListener('click', () => downloadDrill('csv'));
  $('late-csv').addEventListener('click', () => downloadReport('late-edits', filters(), 'csv'));
  $('late-xlsx').addEventListener('click', () => downloadReport('late-edits', filters(), 'xlsx'));
  $('drill-xlsx').addEventListener('click', () => downloadDrill('xlsx'));
  window.addEventListener('popstate', () => { filtersFromUrl(); showPeriod(); if (token) route(); });
  filtersFromUrl();
  showPeriod();

  // Language: the page's words now, and everything again when it changes.
  I18n.translatePage();
  $('lang').value = I18n.lang;
  $('lang').addEventListener('change', () => {
    I18n.set($('lang').value);
    showPeriod();
    setLive($('live-status').dataset.mode || 'offline');
    if (!$('dashboard').hidden) {
      refresh();
      if (historyShown) showHistory(...historyShown);
    }
  });

  if (token) signIn(token); else showDashboard(false);
})();
