// Settings. Sections register here; login, API keys and shared links add
// theirs with the security work, without touching the rest of the page.
import { html } from '../vendor/preact-htm.js';
import { snippet } from './empty.js';
import { sendJson } from './api.js';

export const SECTIONS = [
  {
    id: 'sites',
    title: 'Sites',
    render: ({ sites }) => html`<ul class="site-list">
      ${sites.map((s) => html`<li><strong>${s}</strong><pre><code>${snippet(s)}</code></pre></li>`)}
    </ul>`,
  },
];

/** Adds a settings section: `{id, title, admin?, render({state, set, sites, auth})}`. */
export function registerSection(section) {
  SECTIONS.push(section);
}

function Account({ auth }) {
  const logout = () => sendJson('POST', '/api/auth/logout', '').then(() => location.reload());
  return html`<p>Signed in ${auth.via === 'loopback' ? 'from this machine (no password set yet)' : auth.via === 'api_key' ? 'with an API key' : 'with the password'}.
    ${auth.via === 'session' && html` <button type="button" onClick=${logout}>Log out</button>`}</p>`;
}

SECTIONS.unshift({ id: 'account', title: 'Account', render: (props) => html`<${Account} ...${props} />` });

export function Settings(props) {
  return html`<section class="view settings" aria-label="Settings">
    ${SECTIONS.filter((s) => !s.admin || props.auth.admin).map((s) => html`<section class="panel" data-section=${s.id}><h2>${s.title}</h2>${s.render(props)}</section>`)}
  </section>`;
}
