// Settings. Sections register here; login, API keys and shared links add
// theirs with the security work, without touching the rest of the page.
import { html, useState } from '../vendor/preact-htm.js';
import { snippet } from './empty.js';
import { sendJson } from './api.js';
import { can } from './access.js';

/** Settings › Sites: each site's snippet; an owner of every site adds and removes sites. */
function Sites({ sites, added, reloadSites, auth, set }) {
  const [message, setMessage] = useState('');
  const owner = can(auth, 'owner', '*');
  const add = (e) => {
    e.preventDefault();
    const site = new FormData(e.target).get('site').trim().toLowerCase();
    sendJson('POST', '/api/sites', '', { site_id: site }).then(
      () => (e.target.reset(), setMessage(`Added ${site}: its events are accepted now.`), reloadSites(), set({ site })),
      (err) => setMessage(err.message),
    );
  };
  const remove = (site) =>
    sendJson('DELETE', '/api/sites', new URLSearchParams({ site_id: site })).then(
      () => (setMessage(`Removed ${site} from the list; its data stays until erased.`), reloadSites()),
      (err) => setMessage(err.message),
    );
  return html`${owner && html`<form class="inline" data-testid="add-site" onSubmit=${add}>
      <input name="site" required placeholder="example.com" aria-label="New site" />
      <button type="submit">Add site</button>
      ${message && html`<span role="status">${message}</span>`}
    </form>`}
    <ul class="site-list">
      ${sites.map((s) => html`<li data-site=${s}><strong>${s}</strong>${owner && added.includes(s) && html` <button type="button" class="link" onClick=${() => remove(s)}>Remove</button>`}
        <pre><code>${snippet(s)}</code></pre></li>`)}
    </ul>`;
}

export const SECTIONS = [{ id: 'sites', title: 'Sites', render: (props) => html`<${Sites} ...${props} />` }];

/**
 * Adds a settings section: `{id, title, admin?, owner?, user?, render({state, set, sites, auth})}`;
 * `admin: true` needs an admin of every site, `admin: 'site'` of the site
 * shown, `owner: true` an owner of the site shown, `user: true` a logged-in user.
 */
export function registerSection(section) {
  SECTIONS.push(section);
}

function Password() {
  const [message, setMessage] = useState('');
  const change = (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    if (form.get('password') !== form.get('again')) return setMessage('The new passwords differ.');
    sendJson('POST', '/api/auth/password', '', { current: form.get('current'), password: form.get('password') }).then(
      () => (e.target.reset(), setMessage('Password changed; your other sessions have ended.')),
      (err) => setMessage(err.message),
    );
  };
  return html`<form class="inline" onSubmit=${change} data-testid="change-password">
    <input type="password" name="current" required autocomplete="current-password" aria-label="Current password" placeholder="Current password" />
    <input type="password" name="password" required autocomplete="new-password" aria-label="New password" placeholder="New password" />
    <input type="password" name="again" required autocomplete="new-password" aria-label="New password again" placeholder="Again" />
    <button type="submit">Change password</button>
    ${message && html`<span role="status">${message}</span>`}
  </form>`;
}

function Account({ auth }) {
  const logout = () => sendJson('POST', '/api/auth/logout', '').then(() => location.reload());
  const roles = Object.entries(auth.roles || {}).map(([site, role]) => `${role} of ${site === '*' ? 'every site' : site}`);
  return html`<p>Signed in ${auth.via === 'loopback' ? 'from this machine (no password set yet)' : auth.via === 'api_key' ? 'with an API key' : html`as <strong data-testid="user">${auth.user}</strong>`}${roles.length > 0 && `: ${roles.join(', ')}`}.
    ${auth.via === 'session' && html` <button type="button" onClick=${logout}>Log out</button>`}</p>
    ${auth.via === 'session' && html`<${Password} />`}`;
}

/** Whether `auth` may see `section` while `site` is shown. */
function allowed(section, auth, site) {
  if (section.user) return auth.via === 'session' && can(auth, 'viewer', site);
  if (section.owner) return can(auth, 'owner', site);
  if (section.admin === 'site') return can(auth, 'admin', site);
  if (section.admin) return can(auth, 'admin', '*');
  return true;
}

SECTIONS.unshift({ id: 'account', title: 'Account', render: (props) => html`<${Account} ...${props} />` });

export function Settings(props) {
  return html`<section class="view settings" aria-label="Settings">
    ${SECTIONS.filter((s) => allowed(s, props.auth, props.state.site)).map((s) => html`<section class="panel" data-section=${s.id}><h2>${s.title}</h2>${s.render(props)}</section>`)}
  </section>`;
}
