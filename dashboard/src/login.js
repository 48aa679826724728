// Login, first-run setup of the owner's password, and accepting an
// invitation (`/invite/<token>`). The session lives in an HttpOnly cookie
// the page never sees.
import { html, useState } from '../vendor/preact-htm.js';
import { sendJson } from './api.js';

export function Login({ status, done }) {
  const setup = !status.password_set;
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  // From another machine, first-run setup needs the token in the collector's log.
  const needsToken = setup && status.setup_token_required;
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const submit = (e) => {
    e.preventDefault();
    if (setup && password !== again) return setError('The passwords differ.');
    const body = needsToken ? { password, token } : setup || !name.trim() ? { password } : { name: name.trim(), password };
    sendJson('POST', setup ? '/api/auth/setup' : '/api/auth/login', '', body).then(
      () => done(),
      (err) => setError(err.message),
    );
  };
  return html`<main class="login">
    <form class="panel" onSubmit=${submit} data-testid=${setup ? 'setup' : 'login'}>
      <h1>🦆 Mallard Metrics</h1>
      <p>${setup ? 'Choose the password that protects this dashboard (at least 10 characters).' : 'Log in to see your stats.'}</p>
      ${!setup && html`<label>Name <input autocomplete="username" placeholder="empty for the owner" value=${name} onInput=${(e) => setName(e.target.value)} /></label>`}
      <label>Password <input type="password" autocomplete=${setup ? 'new-password' : 'current-password'} required
        value=${password} onInput=${(e) => setPassword(e.target.value)} /></label>
      ${setup && html`<label>Again <input type="password" autocomplete="new-password" required value=${again} onInput=${(e) => setAgain(e.target.value)} /></label>`}
      ${needsToken && html`<label>Setup token (printed in the collector's start-up log) <input required autocomplete="off"
        value=${token} onInput=${(e) => setToken(e.target.value)} /></label>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit">${setup ? 'Set password' : 'Log in'}</button>
    </form>
  </main>`;
}

/** `/invite/<token>`: the invitee chooses a password and is logged in. */
export function AcceptInvitation({ token }) {
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState('');
  const submit = (e) => {
    e.preventDefault();
    if (password !== again) return setError('The passwords differ.');
    sendJson('POST', '/api/invitations/accept', '', { token, password }).then(
      () => location.replace('/'),
      (err) => setError(err.message),
    );
  };
  return html`<main class="login">
    <form class="panel" onSubmit=${submit} data-testid="accept-invitation">
      <h1>🦆 Mallard Metrics</h1>
      <p>You are invited. Choose your password (at least 10 characters).</p>
      <label>Password <input type="password" autocomplete="new-password" required value=${password} onInput=${(e) => setPassword(e.target.value)} /></label>
      <label>Again <input type="password" autocomplete="new-password" required value=${again} onInput=${(e) => setAgain(e.target.value)} /></label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit">Join</button>
    </form>
  </main>`;
}
