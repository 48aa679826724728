// The page's state lives in the URL (site, period, filters, view and each
// view's inputs), so any view can be bookmarked and shared.

export const PERIODS = [
  ['day', 'Today'],
  ['yesterday', 'Yesterday'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['month', 'This month'],
  ['last_month', 'Last month'],
  ['12mo', 'Last 12 months'],
  ['custom', 'Custom range'],
];

export const VIEWS = [
  ['overview', 'Overview'],
  ['funnel', 'Funnels'],
  ['retention', 'Retention'],
  ['sequences', 'Sequences'],
  ['flow', 'Flow'],
  ['sessions', 'Sessions'],
  ['settings', 'Settings'],
];

export const METRICS = ['visitors', 'visits', 'pageviews', 'views_per_visit', 'bounce_rate', 'visit_duration'];

const DEFAULTS = {
  site: '',
  period: '30d',
  date: '',
  compare: false,
  filters: [],
  metric: 'visitors',
  view: 'overview',
  steps: [],
  within: '1d',
  mode: '',
  interval: 'week',
  periods: '8',
  pattern: '(?1).*(?2)',
  page: '',
  direction: 'forward',
  depth: '3',
  goal: '',
};

const oneOf = (value, list, fallback) => (list.some(([k]) => k === value) ? value : fallback);

export function parse(search) {
  const p = new URLSearchParams(search);
  const text = (key) => p.get(key) ?? DEFAULTS[key];
  return {
    ...DEFAULTS,
    site: text('site'),
    period: oneOf(p.get('period'), PERIODS, DEFAULTS.period),
    date: text('date'),
    compare: p.get('compare') === '1',
    filters: p.getAll('filter'),
    metric: METRICS.includes(p.get('metric')) ? p.get('metric') : DEFAULTS.metric,
    view: oneOf(p.get('view'), VIEWS, DEFAULTS.view),
    steps: p.getAll('step'),
    within: text('within'),
    mode: text('mode'),
    interval: text('interval'),
    periods: text('periods'),
    pattern: text('pattern'),
    page: text('page'),
    direction: text('direction'),
    depth: text('depth'),
    goal: text('goal'),
  };
}

/** The URL query for a state; values equal to the defaults are left out. */
export function serialize(state) {
  const p = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) {
    if (key === 'filters') value.forEach((f) => p.append('filter', f));
    else if (key === 'steps') value.forEach((s) => p.append('step', s));
    else if (key === 'compare') value && p.set('compare', '1');
    else if (value !== DEFAULTS[key] && value !== '') p.set(key, value);
  }
  return p.toString();
}

/** The stats API parameters every report shares. */
export function statsParams(state, extra = {}) {
  const p = new URLSearchParams({ site_id: state.site, period: state.period });
  if (state.period === 'custom' && state.date) p.set('date', state.date);
  state.filters.forEach((f) => p.append('filter', f));
  for (const [k, v] of Object.entries(extra)) {
    if (Array.isArray(v)) v.forEach((x) => p.append(k, x));
    else if (v !== undefined && v !== null && v !== '') p.set(k, v);
  }
  return p;
}

/** A filter as the API reads it: '<dimension> == <value>'. */
export const equalsFilter = (dimension, value) => `${dimension} == ${value}`;

/** The breakdown endpoint of a dimension (its `:` kept as the API reads it). */
export const breakdownPath = (dimension) => `/api/stats/breakdown/${encodeURIComponent(dimension).replaceAll('%3A', ':')}`;
