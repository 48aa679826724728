// "Details": a breakdown's full list in a dialog, with search and a CSV
// download of the same report.
import { html, useEffect, useRef, useState } from '../vendor/preact-htm.js';
import { useApi } from './api.js';
import { breakdownPath, statsParams } from './state.js';
import { Rows } from './breakdown.js';
import { ErrorState } from './empty.js';

export function Details({ dimension, state, set, total, close }) {
  const [search, setSearch] = useState('');
  const dialog = useRef(null);
  const result = useApi(breakdownPath(dimension), statsParams(state, { limit: 1000 }));
  useEffect(() => {
    const d = dialog.current;
    d.showModal();
    d.addEventListener('close', close);
    return () => d.removeEventListener('close', close);
  }, []);
  const csv = statsParams(state, { format: 'csv', report: 'breakdown', dimension });
  const rows = result.data ? result.data.results.filter((r) => String(r.value).toLowerCase().includes(search.toLowerCase())) : [];
  return html`<dialog class="details" ref=${dialog} aria-label=${`All of ${dimension}`}>
    <div class="details-head">
      <h2>${dimension}</h2>
      <input type="search" placeholder="Search" aria-label="Search" value=${search} onInput=${(e) => setSearch(e.target.value)} />
      <a class="button" href=${`/api/stats/export?${csv}`} download>Export CSV</a>
      <button type="button" onClick=${() => dialog.current.close()} aria-label="Close">×</button>
    </div>
    ${result.error
      ? html`<${ErrorState} error=${result.error} retry=${result.reload} />`
      : result.data
        ? html`<${Rows} rows=${rows} dimension=${dimension} total=${total} state=${state} set=${(s) => (dialog.current.close(), set(s))} />`
        : html`<div class="skeleton rows-skeleton"></div>`}
  </dialog>`;
}
