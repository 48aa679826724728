// Recent visits, newest first.
import { html } from '../vendor/preact-htm.js';
import { useApi } from './api.js';
import { statsParams } from './state.js';
import { duration, flag, number } from './format.js';
import { ErrorState } from './empty.js';

export function Sessions({ state }) {
  const result = useApi('/api/stats/sessions', statsParams(state, { limit: 50 }));
  return html`<section class="view sessions" aria-label="Recent visits">
    ${result.error
      ? html`<${ErrorState} error=${result.error} retry=${result.reload} />`
      : !result.data
        ? html`<div class="skeleton grid-skeleton" aria-busy="true"></div>`
        : result.data.results.length === 0
          ? html`<p class="muted">No visits in this period.</p>`
          : html`<div class="scroll"><table class="rows sessions-table">
              <thead><tr><th scope="col">Started (UTC)</th><th scope="col">Entry → exit</th><th scope="col">Source</th>
                <th scope="col">Duration</th><th scope="col">Pageviews</th><th scope="col" class="wide">Device</th></tr></thead>
              <tbody>${result.data.results.map(
                (v) => html`<tr data-visit=${v.visit_id}>
                  <td>${v.visit_start}</td><td>${v.entry_page ?? '–'} → ${v.exit_page ?? '–'}</td><td>${v.source ?? 'Direct / none'}</td>
                  <td class="num">${duration(v.duration)}</td><td class="num">${number(v.pageviews)}</td>
                  <td class="wide">${flag(v.country)} ${[v.browser, v.os, v.device].filter(Boolean).join(' · ')}</td></tr>`,
              )}</tbody>
            </table></div>`}
  </section>`;
}
