// Settings › Email reports: who gets the site's weekly and monthly digests
// (subscribed by an admin; every message has a one-click unsubscribe), and
// the time zone whose days they count.
import { html, useState } from '../vendor/preact-htm.js';
import { sendJson, useApi } from './api.js';
import { registerSection } from './settings.js';

function Digests({ state }) {
  const site = state.site;
  const params = new URLSearchParams({ site_id: site });
  const list = useApi(site ? '/api/digests' : null, params);
  const [email, setEmail] = useState('');
  const [weekly, setWeekly] = useState(true);
  const [monthly, setMonthly] = useState(true);
  const [error, setError] = useState('');
  if (!site) return html`<p class="muted">Pick a site first.</p>`;
  const done = () => (setError(''), list.reload());
  const subscribe = (e) => {
    e.preventDefault();
    sendJson('PUT', '/api/digests', params, { email, weekly, monthly }).then(() => (setEmail(''), done()), (err) => setError(err.message));
  };
  const remove = (address) => sendJson('DELETE', '/api/digests', new URLSearchParams({ site_id: site, email: address })).then(done, (err) => setError(err.message));
  const zone = (e) => {
    e.preventDefault();
    const timezone = new FormData(e.target).get('timezone');
    sendJson('PUT', '/api/sites/settings', params, { timezone }).then(done, (err) => setError(err.message));
  };
  const data = list.data;
  return html`<div data-testid="digests">
    ${data && !data.email && html`<p class="muted">Email is off: set MALLARD_SMTP_URL to send these reports.</p>`}
    <form class="inline" onSubmit=${subscribe}>
      <input type="email" required aria-label="Email address" placeholder="someone@example.com" value=${email} onInput=${(e) => setEmail(e.target.value)} />
      <label><input type="checkbox" checked=${weekly} onChange=${(e) => setWeekly(e.target.checked)} /> weekly</label>
      <label><input type="checkbox" checked=${monthly} onChange=${(e) => setMonthly(e.target.checked)} /> monthly</label>
      <button type="submit" disabled=${!weekly && !monthly}>Subscribe</button>
    </form>
    ${data &&
    html`<form class="inline" onSubmit=${zone}>
      <label>Days in <input name="timezone" aria-label="Time zone" value=${data.timezone} /></label><button type="submit">Save</button>
    </form>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <ul class="site-list">
      ${data &&
      data.subscribers.map(
        (s) => html`<li data-email=${s.email}><strong>${s.email}</strong> · ${[s.weekly && 'weekly', s.monthly && 'monthly'].filter(Boolean).join(', ')}
          <button type="button" class="link" onClick=${() => remove(s.email)}>Remove</button></li>`,
      )}
    </ul>
  </div>`;
}

registerSection({ id: 'digests', title: 'Email reports', admin: 'site', render: (props) => html`<${Digests} ...${props} />` });
