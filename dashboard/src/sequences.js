// Sequences: a ClickHouse-style pattern over steps → how many visitors match.
import { html } from '../vendor/preact-htm.js';
import { useApi } from './api.js';
import { statsParams } from './state.js';
import { number, percent } from './format.js';
import { ErrorState } from './empty.js';
import { StepOptions, StepsEditor } from './funnel.js';

export function Sequences({ state, set }) {
  const steps = state.steps.filter((s) => s);
  const ready = steps.length >= 1 && state.pattern;
  const result = useApi(ready ? '/api/stats/sequences' : null, statsParams(state, { pattern: state.pattern, steps: JSON.stringify(steps) }));
  const r = result.data && result.data.results[0];
  return html`<section class="view sequences" aria-label="Sequences">
    <${StepOptions} state=${state} />
    <div class="builder"><div>
      <label>Pattern <input value=${state.pattern} onChange=${(e) => set({ pattern: e.target.value })} aria-describedby="pattern-help" /></label>
      <p id="pattern-help" class="muted"><code>(?N)</code> step N, <code>.</code> any event, <code>.*</code> any events, <code>(?t&lt;=3600)</code> time between steps in seconds.</p>
      <${StepsEditor} steps=${state.steps} min=${1} onChange=${(s) => set({ steps: s })} />
    </div></div>
    ${!ready
      ? html`<p class="muted">Pick a pattern and at least one step.</p>`
      : result.error
        ? html`<${ErrorState} error=${result.error} retry=${result.reload} />`
        : !r
          ? html`<div class="skeleton bars-skeleton" aria-busy="true"></div>`
          : html`<div class="sequence-result" data-matching=${r.matching_visitors} data-total=${r.total_visitors}>
              <strong>${percent(r.conversion_rate)}</strong>
              <span>${number(r.matching_visitors)} of ${number(r.total_visitors)} visitors match</span>
            </div>`}
  </section>`;
}
