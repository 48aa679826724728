// The dashboard in real headless Chromium against a real collector serving
// the committed fixture lake: what the page shows equals what the stats API
// returns for the same query; clicks filter everything; the URL holds the
// state; empty and error states render. Screenshots go to test-output/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCollector, launchBrowser } from './harness.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LAKE = join(ROOT, 'test', 'fixtures', 'lake');
const SHOTS = join(ROOT, 'test-output', 'dashboard');
const SITE = 'example.com';
const RANGE = { period: 'custom', date: '2026-11-01,2026-11-30' };
const PAGE_QUERY = new URLSearchParams({ site: SITE, ...RANGE }).toString();
const RANGE_QUERY = new URLSearchParams(RANGE).toString();

let collector;
let browser;
const problems = []; // console errors, page errors, requests elsewhere

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  collector = await startCollector({}, { lake: LAKE });
  browser = await launchBrowser();
});

after(async () => {
  await browser.close();
  await collector.stop();
  assert.deepEqual(problems, [], 'no console errors and no request anywhere but the collector');
});

async function open(query, options = {}) {
  const { base: _b, path: _p, expectErrors: _e, ...contextOptions } = options;
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...contextOptions });
  const page = await ctx.newPage();
  const base = options.base || collector.base;
  page.on('console', (m) => m.type() === 'error' && !options.expectErrors && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e}`));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin !== base) problems.push(`request to ${r.url()}`);
  });
  await page.goto(`${base}${options.path || '/'}?${query}`);
  return page;
}

/** The stats API, asked directly (not through the page). */
async function api(path, params, base = collector.base) {
  const p = new URLSearchParams({ site_id: SITE, ...RANGE });
  for (const [k, v] of Object.entries(params || {})) {
    if (Array.isArray(v)) v.forEach((x) => p.append(k, x));
    else p.set(k, v);
  }
  const r = await fetch(`${base}${path}?${p}`);
  assert.equal(r.status, 200, `${path}: ${await r.clone().text()}`);
  return r.json();
}

const num = (s) => (s === '' || s === null ? null : Number(s));

async function kpis(page) {
  await page.waitForSelector('[data-kpi="visitors"][data-value]:not([data-value=""])');
  return page.$$eval('[data-kpi]', (els) => Object.fromEntries(els.map((e) => [e.dataset.kpi, [e.dataset.value, e.textContent]])));
}

async function panelRows(page, panel) {
  const sel = `[data-panel="${panel}"] tr.row`;
  await page.waitForSelector(sel);
  return page.$$eval(sel, (rows) => rows.map((r) => [r.dataset.value, Number(r.dataset.visitors)]));
}

const PANELS = { pages: 'event:page', sources: 'visit:source', devices: 'visit:browser', locations: 'visit:country', events: 'event:name' };

test('KPIs, every panel, a funnel and a retention cell equal the stats API', async () => {
  const page = await open(`${PAGE_QUERY}&compare=1`);
  const shown = await kpis(page);
  // No password yet: this machine sees the stats, and the page offers setup.
  assert.ok(await page.$('[data-testid="setup-banner"]'));
  const main = await api('/api/stats/main', { compare: 'previous_period' });
  for (const [name, [value, text]] of Object.entries(shown)) {
    assert.equal(num(value), main.results[name], `KPI ${name}`);
    assert.ok(text.length > 0);
  }
  // Integers read as themselves; the change is against the previous period.
  assert.match(shown.visitors[1], new RegExp(`^Unique visitors${main.results.visitors}`));
  const change = await page.$eval('[data-kpi="visitors"] [data-change]', (e) => e.dataset.change);
  const expected = Math.round(((main.results.visitors - main.comparison.results.visitors) / main.comparison.results.visitors) * 1000) / 10;
  assert.equal(Number(change), expected);

  for (const [panel, dimension] of Object.entries(PANELS)) {
    const rows = await panelRows(page, panel);
    const want = (await api(`/api/stats/breakdown/${dimension}`, { limit: 8 })).results.map((r) => [r.value, r.visitors]);
    assert.deepEqual(rows, want, `panel ${panel}`);
  }
  // The chart: one point per day of the range, the metric's values.
  const series = await api('/api/stats/timeseries', {});
  const points = await page.$$eval('rect.hit', (els) => els.map((e) => [e.dataset.bucket, Number(e.dataset.value)]));
  assert.deepEqual(points, series.results.map((r) => [r.bucket, r.visitors]));
  await page.screenshot({ path: join(SHOTS, 'overview-desktop-light.png'), fullPage: true });

  // A funnel from the URL.
  const steps = ['page:/', 'page:/pricing'];
  const funnel = await open(`${PAGE_QUERY}&view=funnel&${steps.map((s) => `step=${encodeURIComponent(s)}`).join('&')}`);
  await funnel.waitForSelector('.funnel-bars li');
  const bars = await funnel.$$eval('.funnel-bars li', (els) => els.map((e) => [Number(e.dataset.step), Number(e.dataset.visitors)]));
  const wantFunnel = (await api('/api/stats/funnel', { steps: JSON.stringify(steps) })).results.map((r) => [r.step, r.visitors]);
  assert.deepEqual(bars, wantFunnel);
  await funnel.screenshot({ path: join(SHOTS, 'funnel-desktop-light.png'), fullPage: true });

  // Every retention cell.
  const retention = await open(`${PAGE_QUERY}&view=retention`);
  await retention.waitForSelector('.heatmap td.cell');
  const cells = await retention.$$eval('.heatmap td.cell', (els) =>
    els.map((e) => [e.dataset.cohort, Number(e.dataset.period), e.dataset.visitors, e.dataset.rate]),
  );
  const wantCells = (await api('/api/stats/retention', { interval: 'week', periods: 8 })).results.map((r) => [
    r.cohort,
    r.period_number,
    r.visitors === null ? '' : String(r.visitors),
    r.rate === null ? '' : String(r.rate),
  ]);
  assert.deepEqual(cells, wantCells);
  await retention.screenshot({ path: join(SHOTS, 'retention-desktop-light.png'), fullPage: true });

  // Flow and sessions show the API's rows too.
  const flow = await open(`${PAGE_QUERY}&view=flow&page=%2F`);
  await flow.waitForSelector('.flow-edges tbody tr');
  const edges = await flow.$$eval('.flow-edges tbody tr', (els) => els.map((e) => [e.dataset.from, e.dataset.to, Number(e.dataset.visitors)]));
  const wantEdges = (await api('/api/stats/flow', { page: '/', direction: 'forward', depth: 3 })).results.map((r) => [r.from_page, r.to_page, r.visitors]);
  assert.deepEqual(edges, wantEdges.slice(0, 30));
  const sessions = await open(`${PAGE_QUERY}&view=sessions`);
  await sessions.waitForSelector('.sessions-table tbody tr');
  const visits = await sessions.$$eval('.sessions-table tbody tr', (els) => els.map((e) => e.dataset.visit));
  assert.deepEqual(visits, (await api('/api/stats/sessions', { limit: 50 })).results.map((r) => r.visit_id));
});

test('clicking a breakdown row filters every widget', async () => {
  const page = await open(PAGE_QUERY);
  await kpis(page);
  const [value] = (await panelRows(page, 'sources'))[1];
  const filter = `visit:source == ${value}`;
  await page.click(`[data-panel="sources"] tr.row[data-value="${value}"] button`);
  await page.waitForSelector('[data-testid="chip"]');
  assert.equal(await page.textContent('[data-testid="chip"] span'), filter);
  assert.deepEqual(new URL(page.url()).searchParams.getAll('filter'), [filter]);
  // Wait for the filtered numbers, then compare each widget with the API.
  const main = await api('/api/stats/main', { filter });
  await page.waitForFunction((v) => document.querySelector('[data-kpi="visits"]').dataset.value === String(v), main.results.visits);
  const shown = await kpis(page);
  for (const [name, [v]] of Object.entries(shown)) assert.equal(num(v), main.results[name], `filtered KPI ${name}`);
  for (const [panel, dimension] of Object.entries(PANELS)) {
    const want = (await api(`/api/stats/breakdown/${dimension}`, { limit: 8, filter })).results.map((r) => [r.value, r.visitors]);
    await page.waitForFunction(
      ([p, n]) => document.querySelectorAll(`[data-panel="${p}"] tr.row`).length === n,
      [panel, want.length],
    );
    assert.deepEqual(await panelRows(page, panel), want, `filtered panel ${panel}`);
  }
  const series = await api('/api/stats/timeseries', { filter });
  const points = await page.$$eval('rect.hit', (els) => els.map((e) => Number(e.dataset.value)));
  assert.deepEqual(points, series.results.map((r) => r.visitors));
  // Removing the chip removes the filter everywhere.
  await page.click('[data-testid="chip"] button');
  const all = await api('/api/stats/main', {});
  await page.waitForFunction((v) => document.querySelector('[data-kpi="visits"]').dataset.value === String(v), all.results.visits);
  assert.deepEqual(new URL(page.url()).searchParams.getAll('filter'), []);
});

test('the URL round-trips the state', async () => {
  const page = await open(PAGE_QUERY);
  await kpis(page);
  await page.check('[data-testid="compare"]');
  await page.click('[data-kpi="pageviews"]');
  await page.click('[data-panel="pages"] tr.row button');
  await page.waitForSelector('[data-testid="chip"]');
  await page.click('nav.views a:text("Retention")');
  await page.waitForSelector('.heatmap, .retention .muted');
  const url = page.url();
  const q = new URL(url).searchParams;
  assert.equal(q.get('site'), SITE);
  assert.equal(q.get('period'), 'custom');
  assert.equal(q.get('date'), RANGE.date);
  assert.equal(q.get('compare'), '1');
  assert.equal(q.get('metric'), 'pageviews');
  assert.equal(q.get('view'), 'retention');
  assert.equal(q.getAll('filter').length, 1);

  // A fresh page at that URL shows the same state.
  const again = await open(new URL(url).search.slice(1));
  await again.waitForSelector('[data-testid="chip"]');
  assert.equal(await again.textContent('[data-testid="chip"] span'), q.get('filter'));
  assert.equal(await again.$eval('[data-testid="period"]', (e) => e.value), 'custom');
  assert.equal(await again.$eval('[data-testid="compare"]', (e) => e.checked), true);
  assert.equal(await again.$eval('nav.views [aria-current="page"]', (e) => e.textContent), 'Retention');
  // Back in history returns to the overview with the chosen metric.
  await again.click('nav.views a:text("Overview")');
  await again.waitForSelector('[data-kpi="pageviews"][aria-pressed="true"]');
  await again.goBack();
  await again.waitForSelector('.heatmap, .retention .muted');
});

test('screenshots at desktop and phone widths, light and dark', async () => {
  for (const [name, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
    for (const colorScheme of ['light', 'dark']) {
      const page = await open(`${PAGE_QUERY}&compare=1`, { viewport, colorScheme });
      await kpis(page);
      await page.waitForSelector('[data-panel="events"] tr.row');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${name}: no horizontal scrolling (${overflow}px)`);
      await page.screenshot({ path: join(SHOTS, `overview-${name}-${colorScheme}.png`), fullPage: true });
    }
  }
});

test('the empty state shows the snippet; an API failure shows the error state', async () => {
  const empty = await startCollector({ MALLARD_SITES: 'new.example' });
  try {
    const page = await open('', { base: empty.base });
    await page.waitForSelector('[data-testid="empty"]');
    const snippet = await page.textContent('[data-testid="snippet"]');
    assert.equal(snippet, `<script defer data-domain="new.example" src="${empty.base}/js/script.js"></script>`);
    await page.screenshot({ path: join(SHOTS, 'empty-desktop-light.png') });
  } finally {
    await empty.stop();
  }
  // A filter the API refuses: its 400 reason is shown, and the page lives on.
  const bad = 'visit:nonsense == x';
  const page = await open(`${PAGE_QUERY}&filter=${encodeURIComponent(bad)}`, { expectErrors: true });
  await page.waitForSelector('[data-testid="error"]');
  const r = await fetch(`${collector.base}/api/stats/main?site_id=${SITE}&filter=${encodeURIComponent(bad)}`);
  assert.equal(r.status, 400);
  const { error } = await r.json();
  assert.ok((await page.textContent('[data-testid="error"]')).includes(error));
  await page.click('[data-testid="chip"] button');
  await kpis(page);
  await page.screenshot({ path: join(SHOTS, 'error-recovered-desktop-light.png') });
});

test('goals: added in Settings with suggestions, the Goals panel and goal-split breakdowns', async () => {
  // By hand from the fixture (test/fixtures/lake.sql): in November 3 visitors;
  // A (Chrome) signs up once with 9.99 EUR; all three view /pricing.
  const settings = await open(`${PAGE_QUERY}&view=settings`);
  const form = '[data-testid="goal-settings"]';
  await settings.waitForSelector(form);
  await settings.selectOption(`${form} select`, 'event');
  const input = `${form} input[data-suggest="event"]`;
  await settings.waitForFunction((sel) => {
    const list = document.getElementById(document.querySelector(sel).getAttribute('list'));
    return list && list.options.length > 0;
  }, input);
  const suggested = await settings.$eval(input, (i) => [...document.getElementById(i.getAttribute('list')).options].map((o) => o.value));
  assert.ok(suggested.includes('Signup'), `event names are suggested: ${suggested}`);
  assert.ok(!suggested.includes('pageview'));
  await settings.fill(input, 'Signup');
  await settings.fill(`${form} input[aria-label="Goal name"]`, 'Signups');
  await settings.click(`${form} button[type="submit"]`);
  await settings.waitForSelector(`${form} li[data-goal="Signups"]`);
  await settings.selectOption(`${form} select`, 'page');
  await settings.fill(`${form} input[data-suggest="page"]`, '/pricing');
  await settings.click(`${form} button[type="submit"]`);
  await settings.waitForSelector(`${form} li[data-goal="/pricing"]`);

  const page = await open(PAGE_QUERY);
  await page.waitForSelector('[data-panel="goals"] tr.row');
  const shown = await page.$$eval('[data-panel="goals"] tr.row', (rows) =>
    rows.map((r) => [r.dataset.goal, Number(r.dataset.visitors), Number(r.dataset.events), Math.round(Number(r.dataset.rate) * 100) / 100, JSON.parse(r.querySelector('[data-revenue]').dataset.revenue)]),
  );
  assert.deepEqual(shown, [
    ['/pricing', 3, 3, 100, []],
    ['Signups', 1, 1, 33.33, [{ currency: 'EUR', total: 9.99, average: 9.99 }]],
  ]);
  const goals = (await api('/api/stats/goals', {})).results;
  assert.deepEqual(shown.map((r) => [r[0], r[1], r[2]]), goals.map((g) => [g.name, g.visitors, g.events]));
  assert.match(await page.textContent('[data-goal="Signups"] [data-revenue]'), /€9\.99/);

  // Clicking a goal splits every breakdown by it.
  await page.click('[data-goal="Signups"] button');
  await page.waitForSelector('[data-panel="devices"] tr.row[data-conversions]');
  assert.equal(new URL(page.url()).searchParams.get('goal'), 'Signups');
  const devices = await page.$$eval('[data-panel="devices"] tr.row', (rows) => rows.map((r) => [r.dataset.value, Number(r.dataset.visitors), Number(r.dataset.conversions)]));
  assert.deepEqual(devices, [['Chrome', 1, 1], ['Mobile Safari', 2, 0]]);
  const want = (await api('/api/stats/breakdown/visit:browser', { goal: 'Signups', limit: 8 })).results.map((r) => [r.value, r.visitors, r.conversions]);
  assert.deepEqual(devices, want);
  // Revenue per row: Chrome's one signup, 9.99 EUR (by hand).
  const revenue = await page.$$eval('[data-panel="devices"] tr.row', (rows) => rows.map((r) => [r.dataset.value, JSON.parse(r.querySelector('[data-revenue]').dataset.revenue)]));
  assert.deepEqual(revenue, [['Chrome', [{ currency: 'EUR', total: 9.99, average: 9.99 }]], ['Mobile Safari', []]]);
  // The goal over time: conversions, and revenue per currency (never mixed).
  await page.waitForSelector('[data-testid="goal-timeline"] > section.chart rect.hit');
  const points = (sel) => page.$$eval(sel, (els) => els.map((e) => [e.dataset.bucket, Number(e.dataset.value)]));
  const series = (await api('/api/stats/timeseries', { goal: 'Signups' })).results;
  assert.deepEqual(await points('[data-testid="goal-timeline"] > section.chart rect.hit'), series.map((r) => [r.bucket, r.conversions]));
  const eur = await points('[data-testid="goal-timeline"] [data-currency="EUR"] rect.hit');
  assert.deepEqual(eur, series.map((r) => [r.bucket, r.revenue.length ? r.revenue[0].total : 0]));
  assert.equal(eur.reduce((a, [, v]) => a + v, 0), 9.99, 'by hand: one signup of 9.99 EUR in November');
  await page.screenshot({ path: join(SHOTS, 'goals-desktop-light.png'), fullPage: true });

  // The flow view starts at the most viewed page, picked with suggestions.
  const flow = await open(`${PAGE_QUERY}&view=flow`);
  const top = (await api('/api/stats/breakdown/event:page', { limit: 1 })).results[0].value;
  await flow.waitForFunction((want) => document.querySelector('input[data-suggest="page"]')?.value === want, top);
  await flow.waitForSelector('.flow-edges tbody tr, .view.flow p.muted');
  const edges = await flow.$$eval('.flow-edges tbody tr', (els) => els.map((e) => [e.dataset.from, e.dataset.to, Number(e.dataset.visitors)]));
  const wantEdges = (await api('/api/stats/flow', { page: top, direction: 'forward', depth: 3 })).results.map((r) => [r.from_page, r.to_page, r.visitors]);
  assert.deepEqual(edges, wantEdges.slice(0, 30));

  for (const name of ['Signups', '/pricing']) {
    const r = await fetch(`${collector.base}/api/goals?site_id=${SITE}&name=${encodeURIComponent(name)}`, { method: 'DELETE', headers: { Origin: collector.base } });
    assert.equal(r.status, 204);
  }
});

test('annotations: added from the overview, marked on the chart and listed', async () => {
  const page = await open(PAGE_QUERY);
  const form = '[data-testid="annotations"] form';
  await page.waitForSelector(form);
  await page.fill(`${form} input[type="date"]`, '2026-11-02');
  await page.fill(`${form} input[aria-label="Note"]`, 'newsletter sent');
  await page.click(`${form} button[type="submit"]`);
  await page.waitForSelector('[data-testid="annotations"] li[data-date="2026-11-02"]');
  assert.match(await page.textContent('[data-testid="annotations"] li[data-date="2026-11-02"]'), /newsletter sent/);
  // The chart marks the note at its day's bucket.
  const marks = await page.$$eval('line.note', (els) => els.map((e) => e.dataset.bucket));
  assert.deepEqual(marks, ['2026-11-02 00:00:00']);
  const saved = (await (await fetch(`${collector.base}/api/annotations?site_id=${SITE}`)).json()).annotations;
  assert.deepEqual(saved.map((a) => [a.date, a.text]), [['2026-11-02', 'newsletter sent']]);
  await page.screenshot({ path: join(SHOTS, 'annotations-desktop-light.png') });
  await page.click('[data-testid="annotations"] li[data-date="2026-11-02"] button');
  await page.waitForFunction(() => !document.querySelector('line.note'));
});

test('filtered out: Settings counts the dropped events and rejected requests by day', async () => {
  const event = (body, headers = {}) => fetch(`${collector.base}/api/event`, { method: 'POST', body, headers: { 'Content-Type': 'text/plain', ...headers } });
  const bot = await event(JSON.stringify({ n: 'pageview', u: `https://${SITE}/`, d: SITE }), { 'User-Agent': 'curl/8.4.0' });
  assert.equal(bot.headers.get('x-mallard-dropped'), 'bot');
  assert.equal((await event('{not json')).status, 400);
  assert.equal((await event('{not json either')).status, 400);
  const page = await open(`${PAGE_QUERY}&view=settings`);
  await page.waitForSelector('[data-testid="filtered"] tbody tr');
  const cells = await page.$$eval('[data-testid="filtered"] tbody tr', (rows) =>
    rows.map((r) => Object.fromEntries([...r.querySelectorAll('td')].map((td) => [td.dataset.dropped || td.dataset.rejected, Number(td.textContent)]))),
  );
  // By hand: 1 bot, 2 malformed (summed over the days shown: a run may cross midnight UTC).
  const sum = (k) => cells.reduce((a, c) => a + c[k], 0);
  assert.deepEqual([sum('bot'), sum('400'), sum('413'), sum('unknown-site')], [1, 2, 0, 0]);
  const api = (await (await fetch(`${collector.base}/api/filtered`)).json()).days;
  assert.deepEqual(cells.map((c) => [c.bot, c['400']]), api.map((d) => [d.dropped.bot || 0, d.rejected['400'] || 0]));
});

test('a filter is added by picking a dimension and a suggested value', async () => {
  const page = await open(PAGE_QUERY);
  await kpis(page);
  await page.click('[data-testid="add-filter"]');
  await page.selectOption('[data-testid="filter-form"] select[aria-label="Filter on"]', 'visit:browser');
  const input = '[data-testid="filter-form"] input[data-suggest]';
  await page.waitForFunction((sel) => {
    const list = document.getElementById(document.querySelector(sel).getAttribute('list'));
    return list && list.options.length > 0;
  }, input);
  const suggested = await page.$eval(input, (i) => [...document.getElementById(i.getAttribute('list')).options].map((o) => o.value));
  const browsers = (await api('/api/stats/breakdown/visit:browser', { period: '12mo', limit: 100 })).results.map((r) => r.value);
  assert.deepEqual(suggested, browsers);
  await page.fill(input, 'Chrome');
  await page.click('[data-testid="filter-form"] button[type="submit"]');
  await page.waitForSelector('[data-testid="chip"]');
  assert.equal(await page.textContent('[data-testid="chip"] span'), 'visit:browser == Chrome');
  // The KPIs now count Chrome's visitors: A alone in November (by hand from the fixture).
  await page.waitForFunction(() => document.querySelector('[data-kpi="visitors"]')?.dataset.value === '1');
  assert.deepEqual(new URL(page.url()).searchParams.getAll('filter'), ['visit:browser == Chrome']);
});

test('email reports: subscribe, pick a time zone and remove from Settings', async () => {
  // A bad time zone answers 400 on purpose: the browser logs that.
  const page = await open(`${PAGE_QUERY}&view=settings`, { expectErrors: true });
  const box = '[data-testid="digests"]';
  await page.waitForSelector(`${box} input[type="email"]`);
  // No MALLARD_SMTP_URL here: the page says email is off, and still keeps the list.
  await page.waitForFunction((sel) => document.querySelector(sel).textContent.includes('Email is off'), box);
  await page.fill(`${box} input[type="email"]`, 'team@example.org');
  await page.uncheck(`${box} label:has-text("weekly") input`);
  await page.click(`${box} button:text("Subscribe")`);
  await page.waitForSelector(`${box} li[data-email="team@example.org"]`);
  assert.match(await page.textContent(`${box} li[data-email="team@example.org"]`), /monthly/);
  await page.fill(`${box} input[aria-label="Time zone"]`, 'Mars/Olympus');
  await page.click(`${box} button:text("Save")`);
  await page.waitForSelector(`${box} [role="alert"]`);
  assert.match(await page.textContent(`${box} [role="alert"]`), /unknown timezone/);
  await page.fill(`${box} input[aria-label="Time zone"]`, 'Europe/Berlin');
  await page.click(`${box} button:text("Save")`);
  await page.waitForFunction(() => !document.querySelector('[data-testid="digests"] [role="alert"]'));
  const api = await (await fetch(`${collector.base}/api/digests?site_id=${SITE}`)).json();
  assert.deepEqual([api.timezone, api.subscribers], ['Europe/Berlin', [{ email: 'team@example.org', weekly: false, monthly: true }]]);
  await page.click(`${box} li[data-email="team@example.org"] button`);
  await page.waitForFunction(() => !document.querySelector('[data-testid="digests"] li'));
});

test('login, an API key and a shared link, all from the page', async () => {
  const password = 'correct horse battery staple';
  const locked = await startCollector({ MALLARD_ADMIN_PASSWORD: password }, { lake: LAKE });
  try {
    const page = await open(PAGE_QUERY, { base: locked.base, expectErrors: true });
    await page.waitForSelector('[data-testid="login"]');
    await page.screenshot({ path: join(SHOTS, 'login-desktop-light.png') });
    await page.fill('input[type="password"]', 'not the password');
    await page.click('button[type="submit"]');
    await page.waitForSelector('.login .error');
    assert.equal(await page.textContent('.login .error'), 'wrong password');
    await page.fill('input[type="password"]', password);
    await page.click('button[type="submit"]');
    const shown = await kpis(page);
    assert.equal(await page.$('[data-testid="setup-banner"]'), null);
    const main = await (await fetch(`${locked.base}/api/stats/main?site_id=${SITE}&period=custom&date=${RANGE.date}`)).json();
    assert.equal(main.error !== undefined, true, 'the API itself needs a login');
    assert.ok(Number(shown.visitors[0]) > 0);

    await page.click('nav.views a:text("Settings")');
    await page.fill('[data-testid="keys"] input', 'notebook');
    await page.click('[data-testid="keys"] button[type="submit"]');
    const key = await (await page.waitForSelector('[data-testid="new-key"]')).textContent();
    assert.match(key, /^mm_[0-9a-f]{64}$/);
    const byKey = await fetch(`${locked.base}/api/stats/main?site_id=${SITE}&period=custom&date=${RANGE.date}`, {
      headers: { Authorization: `Bearer ${key}` },
    });
    assert.equal(byKey.status, 200);
    assert.equal((await byKey.json()).results.visitors, Number(shown.visitors[0]));

    await page.click('[data-testid="shares"] button');
    const link = await (await page.waitForSelector('[data-testid="new-share"]')).textContent();
    assert.ok(link.startsWith(`${locked.base}/share/`));
    await page.screenshot({ path: join(SHOTS, 'settings-desktop-light.png'), fullPage: true });

    // Small-count protection (k = 5 by default): November has 3 visitors in all
    // (by hand from the fixture), so the shared link shows no number at all.
    const hidden = await open(RANGE_QUERY, { base: locked.base, path: new URL(link).pathname });
    await hidden.waitForFunction(() => document.querySelector('[data-kpi="visitors"] .kpi-value')?.textContent === '–');
    assert.equal(await hidden.$eval('[data-kpi="visitors"]', (e) => e.dataset.value), '');
    await hidden.waitForSelector('[data-panel="devices"] .panel-body p.muted');
    // k = 2 from the settings page: Mobile Safari (2 visitors) shows, Chrome (1) does not.
    await page.fill('[data-testid="small-counts"] input', '2');
    await page.click('[data-testid="small-counts"] button');
    await page.waitForSelector('[data-testid="small-counts"] [role="status"]');

    // The shared link: that site's dashboard, no settings, nothing else.
    const shared = await open(RANGE_QUERY, { base: locked.base, path: new URL(link).pathname });
    const sharedKpis = await kpis(shared);
    assert.equal(sharedKpis.visitors[0], shown.visitors[0]);
    assert.deepEqual(await panelRows(shared, 'devices'), [['Mobile Safari', 2]]);
    assert.equal(await shared.$('nav.views a:text("Settings")'), null);
    assert.deepEqual(await shared.$$eval('[data-testid="site"] option', (o) => o.map((x) => x.value)), [SITE]);
  } finally {
    await locked.stop();
  }
});

test('team: the owner invites a viewer by link; the viewer reads, changes nothing, and sets their own password', async () => {
  const password = 'correct horse battery staple';
  const locked = await startCollector({ MALLARD_ADMIN_PASSWORD: password }, { lake: LAKE });
  try {
    const page = await open(PAGE_QUERY, { base: locked.base, expectErrors: true });
    await page.waitForSelector('[data-testid="login"]');
    await page.fill('input[type="password"]', password);
    await page.click('button[type="submit"]');
    const shown = await kpis(page);
    await page.click('nav.views a:text("Settings")');
    assert.equal(await page.textContent('[data-testid="user"]'), 'owner', 'the password is the first owner');
    // Invite to example.com only.
    await page.selectOption('[data-testid="team"] select[aria-label="Team of"]', SITE);
    await page.fill('[data-testid="invite"] input', 'vera@example.com');
    await page.click('[data-testid="invite"] button[type="submit"]');
    const link = await (await page.waitForSelector('[data-testid="invite-link"]')).textContent();
    assert.ok(link.startsWith(`${locked.base}/invite/inv_`), link);
    await page.waitForSelector('[data-testid="invitations"] li');
    await page.screenshot({ path: join(SHOTS, 'team-desktop-light.png'), fullPage: true });

    // The invitee opens the link in their own browser and chooses a password.
    // (A wrong current password below answers 403: expected console errors.)
    const vera = await open('', { base: locked.base, path: new URL(link).pathname, expectErrors: true });
    await vera.waitForSelector('[data-testid="accept-invitation"]');
    await vera.fill('[data-testid="accept-invitation"] input >> nth=0', 'vera chose this one');
    await vera.fill('[data-testid="accept-invitation"] input >> nth=1', 'vera chose this one');
    await vera.click('[data-testid="accept-invitation"] button[type="submit"]');
    await vera.waitForURL(`${locked.base}/`);
    await vera.goto(`${locked.base}/?${PAGE_QUERY}`);
    const seen = await kpis(vera);
    assert.deepEqual(seen.visitors, shown.visitors, 'the viewer sees the same numbers');
    // Only the site they were invited to, and no admin control anywhere.
    assert.deepEqual(await vera.$$eval('[data-testid="site"] option', (o) => o.map((x) => x.value)), [SITE]);
    await vera.click('nav.views a:text("Funnels")');
    await vera.waitForSelector('.saved h3');
    assert.equal(await vera.$('input[aria-label="Funnel name"]'), null, 'a viewer saves no funnel');
    await vera.click('nav.views a:text("Settings")');
    await vera.waitForSelector('[data-testid="change-password"]');
    const sections = await vera.$$eval('section.settings > section.panel', (s) => s.map((x) => x.dataset.section));
    assert.deepEqual(sections, ['account', 'sites', 'my-digests']);
    // Their own email reports: their name is an address, so it is the default.
    assert.equal(await vera.inputValue('input[aria-label="My email address"]'), 'vera@example.com');
    await vera.check('[data-testid="my-digests"] input[name="weekly"]');
    await vera.click('[data-testid="my-digests"] button');
    await vera.waitForFunction(() => document.querySelector('[data-testid="my-digests"] [role="status"]')?.textContent === 'Reports of example.com go to vera@example.com.');
    const veraSession = (await vera.context().cookies()).find((c) => c.name === 'mallard_session');
    const mine = await (await fetch(`${locked.base}/api/digests/mine?site_id=${SITE}`, { headers: { Cookie: `mallard_session=${veraSession.value}` } })).json();
    assert.deepEqual([mine.email, mine.weekly, mine.monthly], ['vera@example.com', true, false]);
    assert.equal(await vera.textContent('[data-testid="user"]'), 'vera@example.com');
    // Their own password: the wrong current one is refused, the right one works.
    await vera.fill('input[aria-label="Current password"]', 'not my password');
    await vera.fill('input[aria-label="New password"]', 'vera prefers this');
    await vera.fill('input[aria-label="New password again"]', 'vera prefers this');
    await vera.click('[data-testid="change-password"] button');
    await vera.waitForFunction(() => document.querySelector('[data-testid="change-password"] [role="status"]')?.textContent === 'the current password is wrong');
    await vera.fill('input[aria-label="Current password"]', 'vera chose this one');
    await vera.fill('input[aria-label="New password"]', 'vera prefers this');
    await vera.fill('input[aria-label="New password again"]', 'vera prefers this');
    await vera.click('[data-testid="change-password"] button');
    await vera.waitForFunction(() => document.querySelector('[data-testid="change-password"] [role="status"]')?.textContent.startsWith('Password changed'));
    const login = await fetch(`${locked.base}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'vera@example.com', password: 'vera prefers this' }),
    });
    assert.equal(login.status, 200);

    // Back in the owner's page: vera is on the team; made admin of example.com.
    await page.reload();
    await page.waitForSelector('[data-testid="team"] [data-user="vera@example.com"]');
    await page.selectOption('select[aria-label="Role of vera@example.com on example.com"]', 'admin');
    await page.waitForSelector('[data-testid="audit"]');
    await page.click('[data-testid="audit"] summary');
    await page.waitForFunction(() => document.querySelector('[data-testid="audit"]')?.textContent.includes('access role set'));
    const audit = await page.textContent('[data-testid="audit"]');
    for (const line of ['access invited', 'access invitation accepted', 'access password changed', 'access role set']) assert.ok(audit.includes(line), `${line} in ${audit}`);
    // The change holds in vera's page at once: the funnel can be saved now.
    await vera.reload();
    await vera.click('nav.views a:text("Funnels")');
    await vera.waitForSelector('input[aria-label="Funnel name"]');

    // The owner adds a site: it is in the picker before any event; removed, it is off the list.
    await page.fill('[data-testid="add-site"] input', 'New.Example');
    await page.click('[data-testid="add-site"] button');
    await page.waitForSelector('[data-testid="site"] option[value="new.example"]', { state: 'attached' });
    assert.equal(await page.inputValue('[data-testid="site"]'), 'new.example');
    const listed = await (await fetch(`${locked.base}/api/sites`, { headers: { Cookie: `mallard_session=${veraSession.value}` } })).json();
    assert.deepEqual(listed.sites, [SITE], 'a viewer of example.com still sees only it');
    await page.click('li[data-site="new.example"] button');
    await page.waitForSelector('li[data-site="new.example"]', { state: 'detached' });
    await vera.click('nav.views a:text("Settings")');
    await vera.waitForSelector('[data-section="sites"] li[data-site="example.com"]');
    assert.equal(await vera.$('[data-testid="add-site"]'), null, 'a viewer adds no site');
  } finally {
    await locked.stop();
  }
});
