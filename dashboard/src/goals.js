// Goals: the overview's Goals panel (unique and total conversions,
// conversion rate, revenue per currency) and Settings › Goals (admins save
// a goal from a page or an event, picked from the site's known ones, with
// optional property conditions). Clicking a goal sets `goal` in the URL:
// every breakdown row then shows its conversions and conversion rate.
import { html, useState } from '../vendor/preact-htm.js';
import { sendJson, useApi } from './api.js';
import { statsParams } from './state.js';
import { money, number, percent } from './format.js';
import { ErrorState } from './empty.js';
import { Chart } from './chart.js';
import { registerSection } from './settings.js';
import { Suggest } from './suggest.js';


/** A goal over time: its conversions, and its revenue in each currency. */
function GoalTimeline({ state }) {
  const series = useApi('/api/stats/timeseries', statsParams(state, { goal: state.goal }));
  if (series.error) return html`<${ErrorState} error=${series.error} retry=${series.reload} />`;
  const rows = series.data ? series.data.results : [];
  const currencies = [...new Set(rows.flatMap((r) => r.revenue.map((m) => m.currency)))].sort();
  const inCurrency = (c) => ({
    ...series,
    data: series.data && { ...series.data, comparison: null, results: rows.map((r) => ({ ...r, amount: (r.revenue.find((m) => m.currency === c) || { total: 0 }).total })) },
  });
  return html`<div class="goal-timeline" data-testid="goal-timeline">
    <${Chart} series=${{ ...series, data: series.data && { ...series.data, comparison: null } }} state=${{ ...state, metric: 'conversions' }} title=${`${state.goal}: conversions`} />
    ${currencies.map((c) => html`<div data-currency=${c}><${Chart} series=${inCurrency(c)} state=${{ ...state, metric: 'amount' }} title=${`${state.goal}: revenue (${c})`} /></div>`)}
  </div>`;
}

export function GoalsPanel({ state, set }) {
  const result = useApi('/api/stats/goals', statsParams(state));
  const rows = result.data ? result.data.results : [];
  const body = result.error
    ? html`<${ErrorState} error=${result.error} retry=${result.reload} />`
    : !result.data
      ? html`<div class="skeleton rows-skeleton" aria-busy="true"></div>`
      : rows.length === 0
        ? html`<p class="muted">No goals yet. ${html`<button type="button" class="link" onClick=${() => set({ view: 'settings' })}>Add one in Settings</button>`}</p>`
        : html`<table class="rows goal-rows">
            <thead><tr><th scope="col">Goal</th><th scope="col">Uniques</th><th scope="col">Total</th><th scope="col">Conversion rate</th><th scope="col" class="wide">Revenue</th></tr></thead>
            <tbody>
              ${rows.map(
                (g) => html`<tr class="row" data-goal=${g.name} data-visitors=${g.visitors} data-events=${g.events} data-rate=${g.conversion_rate}>
                  <td class="label-cell"><button type="button" class="row-button" aria-pressed=${state.goal === g.name} title=${`Show conversions of ${g.name} in every breakdown`}
                    onClick=${() => set({ goal: state.goal === g.name ? '' : g.name })}>${g.name}</button></td>
                  <td class="num">${number(g.visitors)}</td>
                  <td class="num">${number(g.events)}</td>
                  <td class="num">${percent(g.conversion_rate)}</td>
                  <td class="num wide" data-revenue=${JSON.stringify(g.revenue)}>${money(g.revenue)}${g.revenue.length > 0 && html`<br /><span class="muted">avg ${money(g.revenue, 'average')}</span>`}</td>
                </tr>`,
              )}
            </tbody>
          </table>`;
  return html`<section class="panel" data-panel="goals" aria-labelledby="h-goals">
    <div class="panel-head"><h2 id="h-goals">Goals</h2>
      ${state.goal && html`<button type="button" class="chip" data-testid="goal-chip" onClick=${() => set({ goal: '' })}>Goal: ${state.goal} ×</button>`}
    </div>
    <div class="panel-body">${body}</div>
    ${state.goal && html`<${GoalTimeline} state=${state} />`}
  </section>`;
}

function GoalSettings({ state }) {
  const site = state.site;
  const goals = useApi(site ? '/api/goals' : null, new URLSearchParams({ site_id: site }));
  const [kind, setKind] = useState('page');
  const [target, setTarget] = useState('');
  const [name, setName] = useState('');
  const [props, setProps] = useState('');
  const [error, setError] = useState('');
  const save = (e) => {
    e.preventDefault();
    const conditions = {};
    for (const pair of props.split(',').map((p) => p.trim()).filter(Boolean)) {
      const [k, ...v] = pair.split('=');
      conditions[k.trim()] = v.join('=').trim();
    }
    const body = { name: name || target, step: `${kind}:${target}`, props: conditions };
    sendJson('PUT', '/api/goals', new URLSearchParams({ site_id: site }), body).then(
      () => (setName(''), setTarget(''), setProps(''), setError(''), goals.reload()),
      (err) => setError(err.message),
    );
  };
  const remove = (n) => sendJson('DELETE', '/api/goals', new URLSearchParams({ site_id: site, name: n })).then(goals.reload, (err) => setError(err.message));
  if (!site) return html`<p class="muted">Pick a site first.</p>`;
  return html`<div data-testid="goal-settings">
    <form class="inline" onSubmit=${save}>
      <select aria-label="Goal type" value=${kind} onChange=${(e) => (setKind(e.target.value), setTarget(''))}>
        <option value="page">Page visit</option><option value="event">Custom event</option>
      </select>
      <${Suggest} site=${site} kind=${kind} value=${target} onInput=${setTarget} label=${kind === 'page' ? 'Page (e.g. /signup/*)' : 'Event name'} />
      <input aria-label="Property conditions" placeholder="plan=pro (optional)" value=${props} onInput=${(e) => setProps(e.target.value)} />
      <input aria-label="Goal name" placeholder="Name (optional)" value=${name} onInput=${(e) => setName(e.target.value)} />
      <button type="submit" disabled=${!target}>Add goal</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <ul class="site-list">
      ${goals.data &&
      goals.data.goals.map(
        (g) => html`<li data-goal=${g.name}><strong>${g.name}</strong> · <code>${g.step}</code>${Object.keys(g.props || {}).length ? html` · ${Object.entries(g.props).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''}
          <button type="button" class="link" onClick=${() => remove(g.name)}>Delete</button></li>`,
      )}
    </ul>
  </div>`;
}

registerSection({ id: 'goals', title: 'Goals', admin: 'site', render: (props) => html`<${GoalSettings} ...${props} />` });
