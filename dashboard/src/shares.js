// Settings › Shared links: a read-only dashboard of one site; revocable.
import { html, useState } from '../vendor/preact-htm.js';
import { sendJson, useApi } from './api.js';
import { registerSection } from './settings.js';

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
