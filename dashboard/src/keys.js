// Settings › API keys: create (the key is shown once), list, revoke.
import { html, useState } from '../vendor/preact-htm.js';
import { sendJson, useApi } from './api.js';
import { registerSection } from './settings.js';

function Keys() {
  const keys = useApi('/api/keys', '');
  const [name, setName] = useState('');
  const [scope, setScope] = useState('read');
  const [created, setCreated] = useState(null);
  const [error, setError] = useState('');
  const create = (e) => {
    e.preventDefault();
    sendJson('POST', '/api/keys', '', { name, scope }).then(
      (r) => (setCreated(r.key), setName(''), keys.reload()),
      (err) => setError(err.message),
    );
  };
  const revoke = (id) => sendJson('DELETE', '/api/keys', new URLSearchParams({ id })).then(keys.reload, (err) => setError(err.message));
  return html`<div data-testid="keys">
    <form class="inline" onSubmit=${create}>
      <input required placeholder="Key name" aria-label="Key name" value=${name} onInput=${(e) => setName(e.target.value)} />
      <select aria-label="Scope" value=${scope} onChange=${(e) => setScope(e.target.value)}>
        <option value="read">read (stats)</option><option value="admin">admin</option><option value="ingest">ingest (send events)</option>
      </select>
      <button type="submit">Create key</button>
    </form>
    ${created && html`<p role="status">Copy this key now, it is not shown again: <code data-testid="new-key">${created}</code></p>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <ul class="site-list">
      ${keys.data &&
      keys.data.keys.map(
        (k) => html`<li data-key=${k.id}><strong>${k.name}</strong> · ${k.scope}${k.sites ? ` · ${k.sites.join(', ')}` : ''} · created ${k.created}
          <button type="button" class="link" onClick=${() => revoke(k.id)}>Revoke</button></li>`,
      )}
    </ul>
  </div>`;
}

registerSection({ id: 'keys', title: 'API keys', admin: true, render: () => html`<${Keys} />` });
