// Settings › Email reports: who gets the site's weekly and monthly digests
// (subscribed by an admin; every message has a one-click unsubscribe), and
// the time zone whose days they count. Settings › My email reports: any
// logged-in user opts in to the site's digests at their own address.
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

function MyDigests({ state }) {
  const site = state.site;
  const params = new URLSearchParams({ site_id: site });
  const mine = useApi(site ? '/api/digests/mine' : null, params);
  const [message, setMessage] = useState('');
  if (!site || !mine.data) return null;
  const save = (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const body = { email: form.get('email'), weekly: form.get('weekly') === 'on', monthly: form.get('monthly') === 'on' };
    sendJson('PUT', '/api/digests/mine', params, body).then(
      (r) => (setMessage(r.weekly || r.monthly ? `Reports of ${site} go to ${r.email}.` : `No reports of ${site}.`), mine.reload()),
      (err) => setMessage(err.message),
    );
  };
  const d = mine.data;
  return html`<form class="inline" data-testid="my-digests" onSubmit=${save}>
    ${!d.sending && html`<p class="muted">Email is off on this collector (MALLARD_SMTP_URL).</p>`}
    <input type="email" name="email" aria-label="My email address" placeholder="you@example.com" value=${d.email || ''} />
    <label><input type="checkbox" name="weekly" checked=${d.weekly} /> weekly</label>
    <label><input type="checkbox" name="monthly" checked=${d.monthly} /> monthly</label>
    <button type="submit">Save</button>
    ${message && html`<span role="status">${message}</span>`}
  </form>`;
}

registerSection({ id: 'my-digests', title: 'My email reports', user: true, render: (props) => html`<${MyDigests} ...${props} />` });
