// The breakdown panels: each a set of tabs over one dimension family; every
// row shows a bar for its share of visitors and filters the page on click.
import { html, useState } from '../vendor/preact-htm.js';
import { useApi } from './api.js';
import { breakdownPath, statsParams, equalsFilter } from './state.js';
import { flag, metric, money, number, percent } from './format.js';
import { Details } from './details.js';
import { ErrorState } from './empty.js';

export const PANELS = [
  { id: 'pages', title: 'Pages', tabs: [['event:page', 'Top pages'], ['visit:entry_page', 'Entry pages'], ['visit:exit_page', 'Exit pages']] },
  {
    id: 'sources',
    title: 'Sources',
    tabs: [['visit:source', 'Sources'], ['visit:referrer', 'Referrers'], ['visit:utm_medium', 'UTM medium'], ['visit:utm_source', 'UTM source'], ['visit:utm_campaign', 'UTM campaign']],
  },
  { id: 'devices', title: 'Devices', tabs: [['visit:browser', 'Browser'], ['visit:os', 'OS'], ['visit:device', 'Device size']] },
  { id: 'locations', title: 'Locations', tabs: [['visit:country', 'Country'], ['visit:region', 'Region'], ['visit:city', 'City']] },
  { id: 'events', title: 'Events', tabs: [['event:name', 'Events'], ['event:props', 'Properties']] },
];

/** The second column of a dimension's rows. */
export const secondMetric = (dimension) => (dimension.startsWith('event:') ? 'pageviews' : 'visits');

export function Rows({ rows, dimension, total, state, set }) {
  const max = Math.max(1, ...rows.map((r) => r.visitors));
  const denominator = total || max;
  // With a goal, each row shows its conversions and conversion rate.
  const goal = rows.length > 0 && rows[0].conversions !== undefined;
  const revenue = goal && rows.some((r) => r.revenue && r.revenue.length > 0);
  const second = goal ? 'conversions' : dimension.startsWith('event:name') || dimension.startsWith('event:props') ? 'events' : secondMetric(dimension);
  const add = (value) => {
    const f = equalsFilter(dimension, value);
    if (!state.filters.includes(f)) set({ filters: [...state.filters, f] });
  };
  return html`<table class="rows" data-dimension=${dimension}>
    <thead><tr><th scope="col">${dimension.split(':').pop().replace('_', ' ')}</th><th scope="col">Visitors</th><th scope="col" class="wide">${second}</th>${goal && html`<th scope="col">CR</th>`}${revenue && html`<th scope="col" class="wide">Revenue</th>`}</tr></thead>
    <tbody>
      ${rows.map(
        (r) => html`<tr class="row" data-value=${r.value} data-visitors=${r.visitors} data-conversions=${goal ? r.conversions : undefined}>
          <td class="label-cell">
            <span class="share" style=${`width:${Math.min(100, (100 * r.visitors) / denominator).toFixed(1)}%`}></span>
            <button type="button" class="row-button" title=${`Filter by ${r.value}`} onClick=${() => add(r.value)}>
              ${dimension === 'visit:country' ? html`<span aria-hidden="true">${flag(r.value)} </span>` : ''}${r.value}
            </button>
          </td>
          <td class="num">${number(r.visitors)}</td>
          <td class="num wide">${metric(second, r[second])}</td>
          ${goal && html`<td class="num" data-rate=${r.conversion_rate}>${percent(r.conversion_rate)}</td>`}
          ${revenue && html`<td class="num wide" data-revenue=${JSON.stringify(r.revenue)}>${money(r.revenue)}</td>`}
        </tr>`,
      )}
    </tbody>
  </table>`;
}

function Panel({ panel, state, set, total }) {
  const [tab, setTab] = useState(panel.tabs[0][0]);
  const [propKey, setPropKey] = useState('');
  const [details, setDetails] = useState(false);
  const dimension = tab === 'event:props' ? (propKey ? `event:props:${propKey}` : null) : tab;
  const result = useApi(dimension && breakdownPath(dimension), statsParams(state, { limit: 8, goal: state.goal }));
  return html`<section class="panel" data-panel=${panel.id} aria-labelledby=${`h-${panel.id}`}>
    <div class="panel-head">
      <h2 id=${`h-${panel.id}`}>${panel.title}</h2>
      <div class="tabs" role="tablist">
        ${panel.tabs.map(
          ([k, label]) => html`<button type="button" role="tab" aria-selected=${tab === k} data-tab=${k} onClick=${() => setTab(k)}>${label}</button>`,
        )}
      </div>
    </div>
    ${tab === 'event:props' &&
    html`<label class="prop-key">Property <input value=${propKey} placeholder="e.g. plan" onChange=${(e) => setPropKey(e.target.value.trim())} /></label>`}
    <div class="panel-body">
      ${result.error
        ? html`<${ErrorState} error=${result.error} retry=${result.reload} />`
        : !dimension
          ? html`<p class="muted">Name a custom property to break events down by it.</p>`
          : !result.data
            ? html`<div class="skeleton rows-skeleton" aria-busy="true"></div>`
            : result.data.results.length === 0
              ? html`<p class="muted">Nothing in this period.</p>`
              : html`<${Rows} rows=${result.data.results} dimension=${dimension} total=${total} state=${state} set=${set} />`}
    </div>
    ${dimension && html`<button type="button" class="link details-button" onClick=${() => setDetails(true)}>Details</button>`}
    ${details && html`<${Details} dimension=${dimension} state=${state} set=${set} total=${total} close=${() => setDetails(false)} />`}
  </section>`;
}

export function Breakdowns({ state, set, total }) {
  return html`<div class="panels">${PANELS.map((p) => html`<${Panel} key=${p.id + state.site} panel=${p} state=${state} set=${set} total=${total} />`)}</div>`;
}
