// The time series: the chosen metric per bucket as an SVG line, the
// comparison period as a dashed second line, a tooltip on hover/focus.
// `title` names a metric that is not a KPI (a goal's conversions, revenue);
// `notes` (annotations) are marked as dashed lines at their buckets.
import { html, useState } from '../vendor/preact-htm.js';
import { LABELS, metric } from './format.js';
import { bucketOf } from './annotations.js';

const W = 800;
const H = 220;
const PAD = { left: 44, right: 12, top: 12, bottom: 26 };

function label(bucket, interval) {
  const [date, time] = bucket.split(' ');
  if (interval === 'hour') return time.slice(0, 5);
  if (interval === 'month') return date.slice(0, 7);
  return date.slice(5);
}

export function Chart({ series, state, title, notes = [] }) {
  const [hover, setHover] = useState(null);
  if (series.error) return null;
  if (!series.data) return html`<section class="chart skeleton" aria-busy="true" aria-label="Loading the chart"></section>`;
  const rows = series.data.results;
  const previous = series.data.comparison ? series.data.comparison.results : null;
  const interval = series.data.interval || 'day';
  const name = state.metric;
  const heading = title || LABELS[name];
  const values = rows.map((r) => r[name] ?? 0);
  const before = previous ? previous.map((r) => r[name] ?? 0) : [];
  const max = Math.max(1, ...values, ...before);
  const n = Math.max(rows.length, 1);
  const x = (i) => PAD.left + (n === 1 ? (W - PAD.left - PAD.right) / 2 : (i * (W - PAD.left - PAD.right)) / (n - 1));
  const y = (v) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const line = (vs) => vs.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join('');
  const ticks = [0, max / 2, max];
  const every = Math.max(1, Math.ceil(n / 8));
  const step = (W - PAD.left - PAD.right) / n;
  const summary = `${heading} per ${interval}: ${rows.length} buckets, highest ${metric(name, Math.max(0, ...values))}`;
  return html`<section class="chart" aria-label=${`Chart of ${heading}`}>
    <div class="chart-head">
      <h2>${heading}</h2>
      ${previous && html`<span class="legend"><i class="now"></i>this period <i class="before"></i>previous period</span>`}
    </div>
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${summary} onMouseLeave=${() => setHover(null)}>
      ${ticks.map(
        (t) => html`<g class="tick"><line x1=${PAD.left} x2=${W - PAD.right} y1=${y(t)} y2=${y(t)} />
          <text x=${PAD.left - 6} y=${y(t) + 4} text-anchor="end">${metric(name, Math.round(t * 10) / 10)}</text></g>`,
      )}
      ${rows.map(
        (r, i) => i % every === 0 && html`<text class="xlabel" x=${x(i)} y=${H - 6} text-anchor="middle">${label(r.bucket, interval)}</text>`,
      )}
      ${previous && html`<path class="line before" d=${line(before)} />`}
      <path class="line now" d=${line(values)} />
      ${notes.map((n) => {
        const i = bucketOf(rows, n.date);
        return i >= 0 && html`<line class="note" data-note=${n.id} data-bucket=${rows[i].bucket} x1=${x(i)} x2=${x(i)} y1=${PAD.top} y2=${H - PAD.bottom}><title>${n.date}: ${n.text}</title></line>`;
      })}
      ${hover !== null && html`<line class="cursor" x1=${x(hover)} x2=${x(hover)} y1=${PAD.top} y2=${H - PAD.bottom} />`}
      ${rows.map(
        (r, i) => html`<rect class="hit" x=${x(i) - step / 2} y=${PAD.top} width=${step} height=${H - PAD.top - PAD.bottom}
          data-bucket=${r.bucket} data-value=${r[name] ?? ''} tabindex="0"
          aria-label=${`${r.bucket}: ${metric(name, r[name])}`}
          onMouseEnter=${() => setHover(i)} onFocus=${() => setHover(i)} onBlur=${() => setHover(null)} />`,
      )}
    </svg>
    ${hover !== null &&
    html`<div class="tooltip" role="status" style=${`left:${(x(hover) / W) * 100}%`}>
      <strong>${rows[hover].bucket.replace(' 00:00:00', '')}</strong>
      <span>${heading}: ${metric(name, rows[hover][name])}</span>
      ${previous && previous[hover] && html`<span class="muted">previous: ${metric(name, previous[hover][name])}</span>`}
    </div>`}
  </section>`;
}
