// Login, and first-run setup of the owner's password. The session lives in
// an HttpOnly cookie the page never sees.
import { html, useState } from '../vendor/preact-htm.js';
import { sendJson } from './api.js';

export function Login({ status, done }) {
  const setup = !status.password_set;
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState('');
  const submit = (e) => {
    e.preventDefault();
    if (setup && password !== again) return setError('The passwords differ.');
    sendJson('POST', setup ? '/api/auth/setup' : '/api/auth/login', '', { password }).then(
      () => done(),
      (err) => setError(err.message),
    );
  };
  return html`<main class="login">
    <form class="panel" onSubmit=${submit} data-testid=${setup ? 'setup' : 'login'}>
      <h1>🦆 Mallard Metrics</h1>
      <p>${setup ? 'Choose the password that protects this dashboard (at least 10 characters).' : 'Log in to see your stats.'}</p>
      <label>Password <input type="password" autocomplete=${setup ? 'new-password' : 'current-password'} required
        value=${password} onInput=${(e) => setPassword(e.target.value)} /></label>
      ${setup && html`<label>Again <input type="password" autocomplete="new-password" required value=${again} onInput=${(e) => setAgain(e.target.value)} /></label>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit">${setup ? 'Set password' : 'Log in'}</button>
    </form>
  </main>`;
}
