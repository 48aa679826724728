// The KPI row: six headline metrics with their change against the
// comparison period; clicking one picks the chart's metric.
import { html } from '../vendor/preact-htm.js';
import { METRICS } from './state.js';
import { LABELS, change, metric } from './format.js';

/** For these a fall is good news. */
const LOWER_IS_BETTER = new Set(['bounce_rate']);

export function Kpis({ main, state, set }) {
  const now = main.data && main.data.results;
  const before = main.data && main.data.comparison && main.data.comparison.results;
  return html`<section class="kpis" aria-label="Key metrics">
    ${METRICS.map((name) => {
      const value = now ? now[name] : undefined;
      const delta = before ? change(value, before[name]) : null;
      const good = delta !== null && delta !== 0 && (delta > 0) !== LOWER_IS_BETTER.has(name);
      return html`<button type="button" class="kpi" data-kpi=${name} data-value=${value ?? ''}
        aria-pressed=${state.metric === name} onClick=${() => set({ metric: name })}>
        <span class="kpi-label">${LABELS[name]}</span>
        <span class="kpi-value">${now ? metric(name, value) : html`<span class="skeleton-text"></span>`}</span>
        ${before &&
        html`<span class=${'kpi-change ' + (delta === null || delta === 0 ? '' : good ? 'up' : 'down')} data-change=${delta ?? ''}>
          ${delta === null ? '–' : `${delta > 0 ? '↑' : delta < 0 ? '↓' : ''}${Math.abs(delta)}%`}
          <span class="sr"> vs previous period (${metric(name, before[name])})</span>
        </span>`}
      </button>`;
    })}
  </section>`;
}
