// Settings › Team: who has which role on this site (or, for an owner of
// every site, on every site), invitations by link, and the audit log of
// every change of access.
import { html, useState } from '../vendor/preact-htm.js';
import { sendJson, useApi } from './api.js';
import { registerSection } from './settings.js';
import { can } from './access.js';

const ROLES = ['viewer', 'admin', 'owner'];

function RoleSelect({ value, onChange, label }) {
  return html`<select aria-label=${label} value=${value} onChange=${(e) => onChange(e.target.value)}>
    ${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}
  </select>`;
}

function Invite({ scope, reload }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [link, setLink] = useState(null);
  const [error, setError] = useState('');
  const invite = (e) => {
    e.preventDefault();
    sendJson('POST', '/api/invitations', new URLSearchParams({ site_id: scope }), { name, role }).then(
      (r) => (setLink({ url: r.url, expires: r.invitation.expires.slice(0, 16) }), setName(''), setError(''), reload()),
      (err) => setError(err.message),
    );
  };
  return html`<form class="inline" onSubmit=${invite} data-testid="invite">
    <input required placeholder="Name or email" aria-label="Invitee" value=${name} onInput=${(e) => setName(e.target.value)} />
    <${RoleSelect} value=${role} onChange=${setRole} label="Invitee's role" />
    <button type="submit">Invite</button>
    ${link && html`<p role="status">Send this link; it works once, until ${link.expires}: <code data-testid="invite-link">${link.url}</code></p>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}

function Audit() {
  const audit = useApi('/api/audit', '');
  if (!audit.data) return null;
  const lines = audit.data.audit.filter((l) => String(l.action).startsWith('access')).slice(0, 50);
  return html`<details data-testid="audit"><summary>Audit log (${lines.length})</summary>
    <ul class="site-list">${lines.map((l) => html`<li><time>${l.ts}</time> ${l.action} · by ${l.by}${l.role !== undefined ? ` · ${l.role || 'no role'}` : ''}${l.site ? ` on ${l.site}` : ''}</li>`)}</ul>
  </details>`;
}

function Team({ state, auth }) {
  const all = can(auth, 'owner', '*');
  const [scope, setScope] = useState(all ? '*' : state.site);
  const params = new URLSearchParams({ site_id: scope });
  const users = useApi('/api/users', params);
  const invitations = useApi('/api/invitations', params);
  const [error, setError] = useState('');
  // Bumped by every change, so the audit log below shows it.
  const [changes, setChanges] = useState(0);
  const reload = () => (users.reload(), invitations.reload(), setChanges((n) => n + 1));
  const fail = (err) => setError(err.message);
  const setRole = (id, site, role) => sendJson('PUT', '/api/users', new URLSearchParams({ site_id: site, id }), { role }).then(() => (setError(''), reload()), fail);
  const remove = (id) => sendJson('DELETE', '/api/users', new URLSearchParams({ site_id: scope, id })).then(() => (setError(''), reload()), fail);
  const revoke = (id) => sendJson('DELETE', '/api/invitations', new URLSearchParams({ site_id: scope, id })).then(reload, fail);
  const here = scope === '*' ? 'every site' : scope;
  return html`<div data-testid="team">
    ${all && state.site && html`<p><label>Team of <select aria-label="Team of" value=${scope} onChange=${(e) => setScope(e.target.value)}>
      <option value="*">every site</option><option value=${state.site}>${state.site}</option></select></label></p>`}
    <ul class="site-list">
      ${users.data &&
      users.data.users.map(
        (u) => html`<li data-user=${u.name}><strong>${u.name}</strong>
          ${Object.entries(u.roles).map(([site, role]) => html` · <span data-role-site=${site}>${`${site === '*' ? 'every site' : site}: `}${site === scope || scope === '*' ? html`<${RoleSelect} value=${role} label=${`Role of ${u.name} on ${site}`} onChange=${(r) => setRole(u.id, site, r)} />` : role}</span>`)}
          ${u.name !== auth.user && html` <button type="button" class="link" onClick=${() => remove(u.id)}>${scope === '*' ? 'Remove' : `Remove from ${scope}`}</button>`}</li>`,
      )}
    </ul>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <h3>Invite to ${here}</h3>
    <${Invite} scope=${scope} reload=${reload} />
    ${invitations.data && invitations.data.invitations.length > 0 && html`<ul class="site-list" data-testid="invitations">
      ${invitations.data.invitations.map((i) => html`<li>${i.name} · ${i.role} on ${i.site === '*' ? 'every site' : i.site} · expires ${i.expires.slice(0, 16)}
        <button type="button" class="link" onClick=${() => revoke(i.id)}>Revoke</button></li>`)}
    </ul>`}
    ${all && html`<${Audit} key=${changes} />`}
  </div>`;
}

registerSection({ id: 'team', title: 'Team', owner: true, render: (props) => html`<${Team} ...${props} />` });
