// How numbers read on the page. Raw values stay in data-value attributes.
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function percent(value) {
  return value === null || value === undefined ? '–' : `${decimal.format(value)}%`;
}

export function number(value) {
  return value === null || value === undefined ? '–' : Number.isInteger(value) ? integer.format(value) : decimal.format(value);
}

/** A metric's value as text. */
export function metric(name, value) {
  if (name === 'bounce_rate' || name.endsWith('rate')) return percent(value);
  if (name === 'visit_duration' || name === 'duration' || name === 'time_on_page') return duration(value);
  if (name === 'scroll_depth') return percent(value);
  return number(value);
}

export const LABELS = {
  visitors: 'Unique visitors',
  visits: 'Total visits',
  pageviews: 'Total pageviews',
  views_per_visit: 'Views per visit',
  bounce_rate: 'Bounce rate',
  visit_duration: 'Visit duration',
  events: 'Events',
};

/** The relative change from `before` to `now` in percent, or null. */
export function change(now, before) {
  if (now === null || before === null || now === undefined || before === undefined) return null;
  if (before === 0) return now === 0 ? 0 : null;
  return Math.round(((now - before) / before) * 1000) / 10;
}

/** A regional-indicator flag for an ISO country code. */
export function flag(code) {
  if (!/^[A-Z]{2}$/.test(code || '')) return '';
  return String.fromCodePoint(...[...code].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65));
}

/** Revenue per currency (`field`: total or average); never added across currencies. */
export function money(revenue, field = 'total') {
  if (!revenue || revenue.length === 0) return '–';
  return revenue.map((r) => new Intl.NumberFormat('en-US', { style: 'currency', currency: r.currency }).format(r[field])).join(' · ');
}
