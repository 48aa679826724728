// The dashboard: state in the URL, one view at a time, every number from
// the stats API. Views: overview (KPIs, chart, goals, breakdowns), funnels,
// retention, sequences, flow, sessions, settings.
import { html, render, useEffect, useState, useCallback } from '../vendor/preact-htm.js';
import { useApi } from './api.js';
import { parse, serialize, statsParams } from './state.js';
import { Header } from './header.js';
import { Kpis } from './kpis.js';
import { Chart } from './chart.js';
import { Breakdowns } from './breakdown.js';
import { GoalsPanel } from './goals.js';
import { Annotations, useAnnotations } from './annotations.js';
import { Funnel } from './funnel.js';
import { Retention } from './retention.js';
import { Sequences } from './sequences.js';
import { Flow } from './flow.js';
import { Sessions } from './sessions.js';
import { Settings } from './settings.js';
import { Login, AcceptInvitation } from './login.js';
import './keys.js';
import './shares.js';
import './filtered.js';
import './digests.js';
import './team.js';
import { EmptyState, ErrorState } from './empty.js';

/** The URL-held state and a setter that pushes a history entry. */
function useUrlState() {
  const [state, setState] = useState(() => parse(location.search));
  useEffect(() => {
    const back = () => setState(parse(location.search));
    addEventListener('popstate', back);
    return () => removeEventListener('popstate', back);
  }, []);
  const set = useCallback((change) => {
    setState((s) => {
      const next = { ...s, ...change };
      const query = serialize(next);
      if (query !== location.search.slice(1)) history.pushState(null, '', query ? `?${query}` : location.pathname);
      return next;
    });
  }, []);
  return [state, set];
}

function Overview({ state, set, auth }) {
  const main = useApi('/api/stats/main', statsParams(state, { compare: state.compare ? 'previous_period' : '' }));
  const series = useApi('/api/stats/timeseries', statsParams(state, { compare: state.compare ? 'previous_period' : '' }));
  const range = series.data && series.data.range;
  const annotations = useAnnotations(state, range);
  if (main.error) return html`<${ErrorState} error=${main.error} retry=${main.reload} />`;
  const results = main.data && main.data.results;
  if (results && results.events === 0 && state.filters.length === 0) return html`<${EmptyState} site=${state.site} />`;
  return html`<${Kpis} main=${main} state=${state} set=${set} />
    ${series.error ? html`<${ErrorState} error=${series.error} retry=${series.reload} />` : html`<${Chart} series=${series} state=${state} notes=${annotations.notes} />
          <${Annotations} state=${state} range=${range} auth=${auth} ...${annotations} />`}
    <${GoalsPanel} state=${state} set=${set} />
    <${Breakdowns} state=${state} set=${set} total=${results ? results.visitors : 0} />`;
}

const VIEWS = { overview: Overview, funnel: Funnel, retention: Retention, sequences: Sequences, flow: Flow, sessions: Sessions, settings: Settings };

function App({ auth }) {
  const [state, set] = useUrlState();
  const sites = useApi('/api/sites', '');
  const list = sites.data ? sites.data.sites : [];
  useEffect(() => {
    if (sites.data && !state.site && list.length) set({ site: list[0] });
  }, [sites.data]);
  useEffect(() => {
    document.title = state.site ? `${state.site} · Mallard Metrics` : 'Mallard Metrics';
  }, [state.site]);
  if (sites.error) return html`<main><${ErrorState} error=${sites.error} retry=${sites.reload} /></main>`;
  if (!sites.data) return html`<header class="top skeleton-bar"></header>`;
  const View = VIEWS[state.view];
  const options = state.site && !list.includes(state.site) ? [state.site, ...list] : list;
  return html`<${Header} state=${state} set=${set} sites=${options} auth=${auth} />
    ${auth.via === 'loopback' && html`<${SetupBanner} />`}
    <main id="main">
      ${!state.site && state.view !== 'settings'
        ? html`<${EmptyState} site="" />`
        : html`<${View} key=${state.site} state=${state} set=${set} sites=${list} added=${sites.data.added || []} reloadSites=${sites.reload} auth=${auth} />`}
    </main>`;
}

/** No password yet: stats are served to this machine only until one is set. */
function SetupBanner() {
  const [open, setOpen] = useState(false);
  return html`<aside class="setup-banner" data-testid="setup-banner" role="note">
    No password protects this dashboard yet: it is served to this machine only.
    <button type="button" class="link" onClick=${() => setOpen(!open)}>Set a password</button>
    ${open && html`<${Login} status=${{ password_set: false }} done=${() => location.reload()} />`}
  </aside>`;
}

/** Logged in (or on a shared link, or local before setup): the dashboard; else login. */
function Root() {
  const status = useApi('/api/auth/status', '');
  if (location.pathname.startsWith('/invite/')) return html`<${AcceptInvitation} token=${location.pathname.slice('/invite/'.length)} />`;
  if (status.error) return html`<main><${ErrorState} error=${status.error} retry=${status.reload} /></main>`;
  if (!status.data) return html`<header class="top skeleton-bar"></header>`;
  if (!status.data.authenticated) return html`<${Login} status=${status.data} done=${status.reload} />`;
  return html`<${App} auth=${status.data} />`;
}

const root = document.getElementById('app');
root.textContent = '';
root.removeAttribute('aria-busy');
render(html`<${Root} />`, root);
