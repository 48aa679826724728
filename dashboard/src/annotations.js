// Annotations: dated notes of a site, marked on the chart (a dashed line at
// the note's bucket) and listed under it; admins add and delete them here.
import { html, useState } from '../vendor/preact-htm.js';
import { can } from './access.js';
import { sendJson, useApi } from './api.js';

/** The site's notes within the series' range: `{notes, reload}`. */
export function useAnnotations(state, range) {
  const params = range ? new URLSearchParams({ site_id: state.site, from: range.start, to: range.end }) : null;
  const result = useApi(params ? '/api/annotations' : null, params);
  return { notes: result.data ? result.data.annotations : [], reload: result.reload };
}

/** The index of the bucket a note's day falls in (the last starting on or before it). */
export function bucketOf(rows, date) {
  let found = -1;
  rows.forEach((r, i) => {
    if (r.bucket.slice(0, 10) <= date) found = i;
  });
  return found;
}

export function Annotations({ state, range, notes, reload, auth }) {
  const [text, setText] = useState('');
  const [date, setDate] = useState('');
  const [error, setError] = useState('');
  const admin = can(auth, 'admin', state.site);
  const site = new URLSearchParams({ site_id: state.site });
  const add = (e) => {
    e.preventDefault();
    sendJson('POST', '/api/annotations', site, { date: date || range.end, text }).then(
      () => (setText(''), setError(''), reload()),
      (err) => setError(err.message),
    );
  };
  const remove = (id) => sendJson('DELETE', '/api/annotations', new URLSearchParams({ site_id: state.site, id })).then(reload, (err) => setError(err.message));
  if (!range || (notes.length === 0 && !admin)) return null;
  return html`<section class="annotations" aria-label="Annotations" data-testid="annotations">
    <ul>
      ${notes.map(
        (n) => html`<li data-annotation=${n.id} data-date=${n.date}><time datetime=${n.date}>${n.date}</time> ${n.text}
          ${admin && html`<button type="button" class="link" aria-label=${`Delete the note of ${n.date}`} onClick=${() => remove(n.id)}>×</button>`}</li>`,
      )}
    </ul>
    ${admin &&
    html`<form class="inline" onSubmit=${add}>
      <input type="date" aria-label="Note date" value=${date || range.end} min=${range.start} max=${range.end} onInput=${(e) => setDate(e.target.value)} />
      <input aria-label="Note" placeholder="Add a note, e.g. launched the new pricing page" maxlength="500" value=${text} onInput=${(e) => setText(e.target.value)} />
      <button type="submit" disabled=${!text.trim()}>Add note</button>
    </form>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </section>`;
}
