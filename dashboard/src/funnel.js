// The funnel builder: steps from pages and events, window and mode; bars
// with conversion and drop-off per step; funnels saved per site. Steps are
// picked from the period's pages and events and the site's saved goals.
import { html, useState } from '../vendor/preact-htm.js';
import { useApi, sendJson } from './api.js';
import { statsParams } from './state.js';
import { number, percent } from './format.js';
import { can } from './access.js';
import { ErrorState } from './empty.js';

const WINDOWS = [['30m', '30 minutes'], ['1h', '1 hour'], ['1d', '1 day'], ['7d', '7 days'], ['30d', '30 days']];
const MODES = [['', 'any order of later steps allowed'], ['strict_order', 'strict order'], ['strict_deduplication', 'strict deduplication'], ['strict_increase', 'strict increase'], ['strict_once', 'strict once'], ['allow_reentry', 'allow re-entry']];

/** `page:` and `event:` steps to pick from: the period's top pages and events. */
export function StepOptions({ state }) {
  const pages = useApi('/api/stats/breakdown/event:page', statsParams(state, { limit: 50 }));
  const events = useApi('/api/stats/breakdown/event:name', statsParams(state, { limit: 50 }));
  const goals = useApi('/api/goals', new URLSearchParams({ site_id: state.site }));
  // Saved goals without property conditions are steps as they are.
  const named = goals.data ? goals.data.goals.filter((g) => Object.keys(g.props || {}).length === 0) : [];
  const values = [
    ...(pages.data ? pages.data.results.map((r) => `page:${r.value}`) : []),
    ...(events.data ? events.data.results.filter((r) => r.value !== 'pageview').map((r) => `event:${r.value}`) : []),
  ];
  return html`<datalist id="step-options">
    ${named.map((g) => html`<option value=${g.step} label=${`Goal: ${g.name}`} />`)}
    ${values.map((v) => html`<option value=${v} />`)}
  </datalist>`;
}

/** Editable list of steps (kept in the URL). */
export function StepsEditor({ steps, onChange, min = 2 }) {
  const list = steps.length >= min ? steps : [...steps, ...Array(min - steps.length).fill('')];
  const put = (i, v) => onChange(list.map((s, j) => (i === j ? v : s)));
  return html`<ol class="steps">
    ${list.map(
      (s, i) => html`<li>
        <input list="step-options" value=${s} aria-label=${`Step ${i + 1}`} placeholder="page:/path or event:Name"
          onChange=${(e) => put(i, e.target.value.trim())} />
        ${list.length > min && html`<button type="button" aria-label=${`Remove step ${i + 1}`} onClick=${() => onChange(list.filter((_, j) => j !== i))}>×</button>`}
      </li>`,
    )}
    <li><button type="button" class="link" onClick=${() => onChange([...list, ''])}>+ Add step</button></li>
  </ol>`;
}

function Saved({ state, set, steps, auth }) {
  const site = new URLSearchParams({ site_id: state.site });
  const saved = useApi('/api/funnels', site);
  const [name, setName] = useState('');
  const [message, setMessage] = useState('');
  const save = (e) => {
    e.preventDefault();
    sendJson('PUT', '/api/funnels', site, { name, steps, within: state.within, mode: state.mode }).then(
      () => (setMessage(`Saved “${name}”.`), saved.reload()),
      (err) => setMessage(err.message),
    );
  };
  return html`<aside class="saved">
    <h3>Saved funnels</h3>
    ${saved.data && saved.data.funnels.length === 0 && html`<p class="muted">None yet.</p>`}
    <ul>
      ${saved.data &&
      saved.data.funnels.map(
        (f) => html`<li><button type="button" class="link" onClick=${() => set({ steps: f.steps, within: `${f.within}s`, mode: f.mode || '' })}>${f.name}</button></li>`,
      )}
    </ul>
    ${can(auth, 'admin', state.site) && html`<form onSubmit=${save}>
      <input value=${name} required placeholder="Funnel name" aria-label="Funnel name" onInput=${(e) => setName(e.target.value)} />
      <button type="submit" disabled=${steps.length < 2}>Save funnel</button>
    </form>`}
    ${message && html`<p role="status">${message}</p>`}
  </aside>`;
}

export function Funnel({ state, set, auth }) {
  const steps = state.steps.filter((s) => s);
  const ready = steps.length >= 2;
  const result = useApi(ready ? '/api/stats/funnel' : null, statsParams(state, { steps: JSON.stringify(steps), within: state.within, mode: state.mode }));
  return html`<section class="view funnel" aria-label="Funnel">
    <${StepOptions} state=${state} />
    <div class="builder">
      <div>
        <h2>Funnel steps</h2>
        <${StepsEditor} steps=${state.steps} onChange=${(s) => set({ steps: s })} />
        <label>Within <select value=${state.within} onChange=${(e) => set({ within: e.target.value })}>
          ${WINDOWS.map(([k, l]) => html`<option value=${k}>${l}</option>`)}
          ${!WINDOWS.some(([k]) => k === state.within) && html`<option value=${state.within}>${state.within}</option>`}
        </select></label>
        <label>Mode <select value=${state.mode} onChange=${(e) => set({ mode: e.target.value })}>
          ${MODES.map(([k, l]) => html`<option value=${k}>${l}</option>`)}
        </select></label>
      </div>
      <${Saved} state=${state} set=${set} steps=${steps} auth=${auth} />
    </div>
    ${!ready
      ? html`<p class="muted">Pick at least two steps.</p>`
      : result.error
        ? html`<${ErrorState} error=${result.error} retry=${result.reload} />`
        : !result.data
          ? html`<div class="skeleton bars-skeleton" aria-busy="true"></div>`
          : html`<ol class="funnel-bars">
              ${result.data.results.map(
                (r) => html`<li data-step=${r.step} data-visitors=${r.visitors}>
                  <div class="funnel-label"><strong>${r.step}. ${r.name}</strong>
                    <span>${number(r.visitors)} visitors · ${percent(r.conversion_rate)} of step 1${r.step > 1 ? ` · ${percent(r.step_conversion_rate)} of the step before` : ''}</span></div>
                  <div class="funnel-track"><span class="funnel-bar" style=${`width:${r.conversion_rate ?? 0}%`}></span></div>
                  ${r.step > 1 && html`<span class="dropoff">−${number(r.dropoff)} dropped off</span>`}
                </li>`,
              )}
            </ol>`}
  </section>`;
}
