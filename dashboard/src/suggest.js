// A text input that suggests the site's known pages or event names as you
// type (from the breakdown API: the last 12 months, most visited first), so
// nobody has to know the `page:/path` syntax. `live`: report every
// keystroke (else only a committed change).
import { html, useState } from '../vendor/preact-htm.js';
import { useApi } from './api.js';
import { breakdownPath } from './state.js';

let lists = 0;

export function Suggest({ site, kind, value, onInput, label, id, live = true }) {
  // `kind`: 'page', 'event', or any breakdown dimension (its values are suggested).
  const dimension = kind === 'event' ? 'event:name' : kind === 'page' ? 'event:page' : kind;
  const known = useApi(site ? breakdownPath(dimension) : null, new URLSearchParams({ site_id: site, period: '12mo', limit: '100' }));
  const [own] = useState(() => `suggest-${(lists += 1)}`);
  const listId = id || own;
  const options = known.data ? known.data.results.map((r) => r.value).filter((v) => v !== '(none)' && (kind === 'event' ? v !== 'pageview' : true)) : [];
  return html`<input list=${listId} aria-label=${label} placeholder=${label} value=${value} data-suggest=${kind}
      onInput=${live ? (e) => onInput(e.target.value) : undefined} onChange=${live ? undefined : (e) => onInput(e.target.value)} />
    <datalist id=${listId}>${options.map((o) => html`<option value=${o} />`)}</datalist>`;
}
