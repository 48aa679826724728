// Settings. Sections register here; login, API keys and shared links add
// theirs with the security work, without touching the rest of the page.
import { html } from '../vendor/preact-htm.js';
import { snippet } from './empty.js';

export const SECTIONS = [
  {
    id: 'sites',
    title: 'Sites',
    render: ({ sites }) => html`<ul class="site-list">
      ${sites.map((s) => html`<li><strong>${s}</strong><pre><code>${snippet(s)}</code></pre></li>`)}
    </ul>`,
  },
];

/** Adds a settings section: `{id, title, render({state, set, sites})}`. */
export function registerSection(section) {
  SECTIONS.push(section);
}

export function Settings(props) {
  return html`<section class="view settings" aria-label="Settings">
    ${SECTIONS.map((s) => html`<section class="panel" data-section=${s.id}><h2>${s.title}</h2>${s.render(props)}</section>`)}
  </section>`;
}
