// The header: site picker, period, comparison, filter chips, the live
// visitor counter and the view tabs.
import { html, useEffect, useState } from '../vendor/preact-htm.js';
import { getJson } from './api.js';
import { PERIODS, VIEWS, statsParams } from './state.js';
import { number } from './format.js';
import { Suggest } from './suggest.js';

/** "N current visitors", refreshed every 30 s. */
function Realtime({ state }) {
  const [visitors, setVisitors] = useState(null);
  useEffect(() => {
    if (!state.site) return undefined;
    let live = true;
    const load = () =>
      getJson('/api/stats/realtime', new URLSearchParams({ site_id: state.site })).then(
        (r) => live && setVisitors(r.visitors),
        () => live && setVisitors(null),
      );
    load();
    const timer = setInterval(load, 30000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [state.site]);
  return html`<span class="realtime" data-testid="realtime" data-value=${visitors ?? ''} title="visitors in the last 5 minutes">
    <span class="dot" aria-hidden="true"></span>${visitors === null ? '…' : number(visitors)} current visitor${visitors === 1 ? '' : 's'}
  </span>`;
}

function CustomRange({ state, set }) {
  const [from, to] = (state.date || ',').split(',');
  const [a, setA] = useState(from);
  const [b, setB] = useState(to);
  const apply = (e) => {
    e.preventDefault();
    if (a && b) set({ period: 'custom', date: `${a},${b}` });
  };
  return html`<form class="range" onSubmit=${apply}>
    <label>From <input type="date" value=${a} onInput=${(e) => setA(e.target.value)} required /></label>
    <label>to <input type="date" value=${b} onInput=${(e) => setB(e.target.value)} required /></label>
    <button type="submit">Apply</button>
  </form>`;
}

/** Dimensions a filter can be added on, with their labels. */
const FILTER_DIMENSIONS = [
  ['event:page', 'Page'], ['visit:entry_page', 'Entry page'], ['visit:source', 'Source'], ['visit:referrer', 'Referrer'],
  ['visit:utm_campaign', 'UTM campaign'], ['visit:country', 'Country'], ['visit:browser', 'Browser'], ['visit:os', 'OS'],
  ['visit:device', 'Device'], ['event:name', 'Event'],
];
const FILTER_OPS = [['==', 'is'], ['!=', 'is not'], ['~', 'contains']];

/** Adds a filter by picking a dimension and one of its known values (no syntax to learn). */
function AddFilter({ state, set }) {
  const [open, setOpen] = useState(false);
  const [dimension, setDimension] = useState('event:page');
  const [op, setOp] = useState('==');
  const [value, setValue] = useState('');
  const add = (e) => {
    e.preventDefault();
    const f = `${dimension} ${op} ${value.trim()}`;
    if (!state.filters.includes(f)) set({ filters: [...state.filters, f] });
    setValue('');
    setOpen(false);
  };
  if (!open) return html`<button type="button" class="link" data-testid="add-filter" onClick=${() => setOpen(true)}>+ Filter</button>`;
  return html`<form class="inline add-filter" data-testid="filter-form" onSubmit=${add}>
    <select aria-label="Filter on" value=${dimension} onChange=${(e) => (setDimension(e.target.value), setValue(''))}>
      ${FILTER_DIMENSIONS.map(([k, label]) => html`<option value=${k}>${label}</option>`)}
    </select>
    <select aria-label="Operator" value=${op} onChange=${(e) => setOp(e.target.value)}>
      ${FILTER_OPS.map(([k, label]) => html`<option value=${k}>${label}</option>`)}
    </select>
    <${Suggest} key=${dimension} site=${state.site} kind=${dimension} value=${value} onInput=${setValue} label="Value" />
    <button type="submit" disabled=${!value.trim()}>Add</button>
    <button type="button" class="link" onClick=${() => setOpen(false)}>Cancel</button>
  </form>`;
}

export function Header({ state, set, sites, auth }) {
  const removeFilter = (f) => set({ filters: state.filters.filter((x) => x !== f) });
  return html`<header class="top">
    <div class="bar">
      <a class="brand" href="/" aria-label="Mallard Metrics home">🦆 Mallard</a>
      <label class="field">
        <span class="sr">Site</span>
        <select data-testid="site" value=${state.site} onChange=${(e) => set({ site: e.target.value, filters: [] })}>
          ${sites.length === 0 && html`<option value="">no sites yet</option>`}
          ${sites.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </label>
      <label class="field">
        <span class="sr">Period</span>
        <select data-testid="period" value=${state.period} onChange=${(e) => set({ period: e.target.value })}>
          ${PERIODS.map(([k, label]) => html`<option value=${k}>${label}</option>`)}
        </select>
      </label>
      ${state.period === 'custom' && html`<${CustomRange} state=${state} set=${set} />`}
      <label class="toggle">
        <input type="checkbox" data-testid="compare" checked=${state.compare} onChange=${(e) => set({ compare: e.target.checked })} />
        Compare with previous period
      </label>
      ${state.site && html`<${Realtime} state=${state} />`}
    </div>
    ${state.site && state.view !== 'settings' && html`<div class="filter-bar"><${AddFilter} state=${state} set=${set} /></div>`}
    ${state.filters.length > 0 &&
    html`<ul class="chips" aria-label="Active filters">
      ${state.filters.map(
        (f) => html`<li class="chip" data-testid="chip">
          <span>${f}</span>
          <button type="button" aria-label=${`Remove filter ${f}`} onClick=${() => removeFilter(f)}>×</button>
        </li>`,
      )}
      <li><button type="button" class="link" onClick=${() => set({ filters: [] })}>Clear all</button></li>
    </ul>`}
    <nav class="views" aria-label="Views">
      ${VIEWS.filter(([k]) => k !== 'settings' || auth.via !== 'share').map(
        ([k, label]) =>
          html`<a href=${'?' + statsLink(state, k)} aria-current=${state.view === k ? 'page' : undefined}
            onClick=${(e) => {
              if (e.metaKey || e.ctrlKey) return;
              e.preventDefault();
              set({ view: k });
            }}>${label}</a>`,
      )}
    </nav>
  </header>`;
}

function statsLink(state, view) {
  const p = statsParams(state);
  p.delete('site_id');
  p.set('site', state.site);
  if (state.compare) p.set('compare', '1');
  p.set('view', view);
  return p.toString();
}
