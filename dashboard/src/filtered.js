// Settings › Filtered out: by day, the events the collector dropped on
// purpose (by reason) and the requests it rejected (by status), so an owner
// sees what was refused and why.
import { html } from '../vendor/preact-htm.js';
import { useApi } from './api.js';
import { number } from './format.js';
import { registerSection } from './settings.js';

const DROPPED = [['bot', 'Bots'], ['unknown-site', 'Unknown site'], ['localhost', 'Localhost'], ['rate-limited', 'Rate-limited']];
const REJECTED = [['400', '400 malformed'], ['413', '413 too large'], ['503', '503 shed']];

function Filtered() {
  const result = useApi('/api/filtered', new URLSearchParams({ days: '30' }));
  if (!result.data) return html`<p class="muted">${result.error ? result.error.message : 'Loading…'}</p>`;
  const days = result.data.days;
  if (days.length === 0) return html`<p class="muted">Nothing was filtered out in the last 30 days.</p>`;
  return html`<table class="rows filtered" data-testid="filtered">
    <thead><tr><th scope="col">Day</th>${[...DROPPED, ...REJECTED].map(([, label]) => html`<th scope="col">${label}</th>`)}</tr></thead>
    <tbody>
      ${days.map(
        (d) => html`<tr data-date=${d.date}><th scope="row">${d.date}</th>
          ${DROPPED.map(([k]) => html`<td class="num" data-dropped=${k}>${number(d.dropped[k] || 0)}</td>`)}
          ${REJECTED.map(([k]) => html`<td class="num" data-rejected=${k}>${number(d.rejected[k] || 0)}</td>`)}
        </tr>`,
      )}
    </tbody>
  </table>`;
}

registerSection({ id: 'filtered', title: 'Filtered out', admin: true, render: () => html`<${Filtered} />` });
