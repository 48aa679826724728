// Retention as a heat-map: one row per cohort (the period of the first
// visit), one cell per later period with the share and count returning.
import { html } from '../vendor/preact-htm.js';
import { useApi } from './api.js';
import { statsParams } from './state.js';
import { number, percent } from './format.js';
import { ErrorState } from './empty.js';

export function Retention({ state, set }) {
  const result = useApi('/api/stats/retention', statsParams(state, { interval: state.interval, periods: state.periods }));
  const rows = result.data ? result.data.results : [];
  const cohorts = [...new Set(rows.map((r) => r.cohort))];
  const periods = Math.max(0, ...rows.map((r) => r.period_number + 1));
  return html`<section class="view retention" aria-label="Retention">
    <div class="controls">
      <label>Period <select value=${state.interval} onChange=${(e) => set({ interval: e.target.value })}>
        <option value="day">day</option><option value="week">week</option><option value="month">month</option>
      </select></label>
      <label>Periods <input type="number" min="1" max="52" value=${state.periods} onChange=${(e) => set({ periods: e.target.value })} /></label>
      <p class="muted">Visitor ids change with the salt rotation, so returns are only visible within one rotation period.</p>
    </div>
    ${result.error
      ? html`<${ErrorState} error=${result.error} retry=${result.reload} />`
      : !result.data
        ? html`<div class="skeleton grid-skeleton" aria-busy="true"></div>`
        : rows.length === 0
          ? html`<p class="muted">No visitors in this period.</p>`
          : html`<div class="scroll"><table class="heatmap">
              <thead><tr><th scope="col">Cohort</th><th scope="col">Visitors</th>
                ${Array.from({ length: periods }, (_, i) => html`<th scope="col">${state.interval} ${i}</th>`)}</tr></thead>
              <tbody>
                ${cohorts.map((c) => {
                  const cells = rows.filter((r) => r.cohort === c);
                  return html`<tr><th scope="row">${c}</th><td class="num">${number(cells[0].cohort_size)}</td>
                    ${cells.map(
                      (r) => html`<td class="cell" data-cohort=${r.cohort} data-period=${r.period_number}
                        data-visitors=${r.visitors ?? ''} data-rate=${r.rate ?? ''}
                        style=${r.rate === null ? '' : `--heat:${(r.rate / 100).toFixed(3)}`}
                        title=${r.visitors === null ? 'in the future' : `${number(r.visitors)} of ${number(r.cohort_size)}`}>
                        ${r.rate === null ? '' : html`<span>${percent(r.rate)}</span><small>${number(r.visitors)}</small>`}
                      </td>`,
                    )}</tr>`;
                })}
              </tbody>
            </table></div>`}
  </section>`;
}
