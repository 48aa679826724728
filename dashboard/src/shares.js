// Settings › Shared links: a read-only dashboard of one site; revocable.
// Small-count protection: the links hide every number that describes fewer
// than k visitors (the site's setting, 5 unless changed).
import { html, useState } from '../vendor/preact-htm.js';
import { sendJson, useApi } from './api.js';
import { registerSection } from './settings.js';

function SmallCounts({ site }) {
  const settings = useApi(site ? '/api/sites/settings' : null, new URLSearchParams({ site_id: site }));
  const [message, setMessage] = useState('');
  const save = (e) => {
    e.preventDefault();
    const k = Number(new FormData(e.target).get('k'));
    sendJson('PUT', '/api/sites/settings', new URLSearchParams({ site_id: site }), { small_count_k: k }).then(
      (r) => (setMessage(r.small_count_k > 1 ? `Shared links of ${site} hide numbers of fewer than ${r.small_count_k} visitors.` : `Shared links of ${site} show every number.`), settings.reload()),
      (err) => setMessage(err.message),
    );
  };
  if (!settings.data) return null;
  return html`<form class="inline" data-testid="small-counts" onSubmit=${save}>
    <label>Hide numbers of fewer than <input name="k" type="number" min="0" max="1000" value=${settings.data.small_count_k} aria-label="k" /> visitors on shared links</label>
    <button type="submit">Save</button>
    ${message && html`<span role="status">${message}</span>`}
  </form>`;
}

function Shares({ state }) {
  const shares = useApi('/api/shares', '');
  const [created, setCreated] = useState(null);
  const [error, setError] = useState('');
  const create = () =>
    sendJson('POST', '/api/shares', '', { site_id: state.site, name: `${state.site} (shared)` }).then(
      (r) => (setCreated(location.origin + r.url), shares.reload()),
      (err) => setError(err.message),
    );
  const revoke = (id) => sendJson('DELETE', '/api/shares', new URLSearchParams({ id })).then(shares.reload, (err) => setError(err.message));
  return html`<div data-testid="shares">
    <button type="button" onClick=${create} disabled=${!state.site}>Share ${state.site || 'a site'} read-only</button>
    ${state.site && html`<${SmallCounts} site=${state.site} />`}
    ${created && html`<p role="status">Anyone with this link sees ${state.site}'s dashboard (copy it now): <code data-testid="new-share">${created}</code></p>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <ul class="site-list">
      ${shares.data &&
      shares.data.shares.map(
        (s) => html`<li><strong>${s.site}</strong> · ${s.name} · created ${s.created}
          <button type="button" class="link" onClick=${() => revoke(s.id)}>Revoke</button></li>`,
      )}
    </ul>
  </div>`;
}

registerSection({ id: 'shares', title: 'Shared links', admin: true, render: (props) => html`<${Shares} ...${props} />` });
