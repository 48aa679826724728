// The empty state (no events yet: here is the snippet) and the error state.
import { html, useState } from '../vendor/preact-htm.js';

export function snippet(site) {
  return `<script defer data-domain="${site}" src="${location.origin}/js/script.js"></script>`;
}

export function EmptyState({ site }) {
  const [copied, setCopied] = useState(false);
  const text = snippet(site || 'your-site.example');
  const copy = () =>
    navigator.clipboard.writeText(text).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  return html`<section class="empty" data-testid="empty">
    <h2>No events yet${site ? ` for ${site}` : ''}</h2>
    <p>Add this snippet to the <code>&lt;head&gt;</code> of your pages; visits show up here within seconds.</p>
    <pre><code data-testid="snippet">${text}</code></pre>
    <button type="button" onClick=${copy}>${copied ? 'Copied' : 'Copy snippet'}</button>
  </section>`;
}

export function ErrorState({ error, retry }) {
  return html`<div class="error" role="alert" data-testid="error">
    <strong>The stats API failed${error.status ? ` (${error.status})` : ''}:</strong> ${error.message}
    ${retry && html` <button type="button" onClick=${retry}>Retry</button>`}
  </div>`;
}
