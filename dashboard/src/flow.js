// Flow: from a page, the most common next (or previous) pages, drawn as a
// Sankey-like diagram: one column per step, links as wide as their visitors.
import { html } from '../vendor/preact-htm.js';
import { useApi } from './api.js';
import { Suggest } from './suggest.js';
import { statsParams } from './state.js';
import { number } from './format.js';
import { ErrorState } from './empty.js';

const TOP = 6;
const COL_W = 180;
const NODE_W = 10;
const H = 320;

/** Column k holds the pages k steps away from the anchor (column 0). */
const ends = (e, backward) => (backward ? [e.step, e.step - 1] : [e.step - 1, e.step]);

function layout(edges, depth, backward) {
  // Each column keeps its TOP pages by visitors; the anchor is alone.
  const columns = Array.from({ length: depth + 1 }, () => new Map());
  for (const e of edges) {
    const [from, to] = ends(e, backward);
    const far = Math.max(from, to);
    const page = far === from ? e.from_page : e.to_page;
    columns[far].set(page, (columns[far].get(page) || 0) + e.visitors);
    if (e.step === 1) {
      const anchor = far === from ? e.to_page : e.from_page;
      columns[0].set(anchor, (columns[0].get(anchor) || 0) + e.visitors);
    }
  }
  const kept = columns.map((c, i) =>
    [...c.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, i === 0 ? 1 : TOP),
  );
  const max = Math.max(1, ...kept.map((c) => c.reduce((s, [, v]) => s + v, 0)));
  const scale = (H - 40) / max;
  const nodes = kept.map((c, i) => {
    let y = 10;
    return new Map(
      c.map(([page, v]) => {
        const node = { page, visitors: v, x: 10 + (backward ? depth - i : i) * COL_W, y, h: Math.max(2, v * scale) };
        y += node.h + 12;
        return [page, node];
      }),
    );
  });
  const out = new Map();
  const into = new Map();
  const links = [];
  for (const e of edges) {
    const [from, to] = ends(e, backward);
    const a = nodes[from].get(e.from_page);
    const b = nodes[to].get(e.to_page);
    if (!a || !b) continue;
    const w = Math.max(1, e.visitors * scale);
    const y0 = a.y + (out.get(a) || 0) + w / 2;
    const y1 = b.y + (into.get(b) || 0) + w / 2;
    out.set(a, (out.get(a) || 0) + w);
    into.set(b, (into.get(b) || 0) + w);
    links.push({ e, w, x0: a.x + NODE_W, y0, x1: b.x, y1 });
  }
  return { nodes, links };
}

export function Flow({ state, set }) {
  const depth = Math.min(5, Math.max(1, Number(state.depth) || 3));
  // With no page picked, start at the period's most viewed page (`/` may not exist on the site).
  const top = useApi(state.page ? null : '/api/stats/breakdown/event:page', statsParams(state, { limit: 1 }));
  const page = state.page || (top.data && top.data.results.length ? top.data.results[0].value : '');
  const result = useApi(page ? '/api/stats/flow' : null, statsParams(state, { page, direction: state.direction, depth }));
  const edges = result.data ? result.data.results : [];
  const backward = state.direction === 'backward';
  const { nodes, links } = layout(edges, depth, backward);
  return html`<section class="view flow" aria-label="Flow">
    <div class="controls">
      <label>Page <${Suggest} site=${state.site} kind="page" value=${page} onInput=${(v) => set({ page: v.trim() })} label="Page" live=${false} /></label>
      <label>Direction <select value=${state.direction} onChange=${(e) => set({ direction: e.target.value })}>
        <option value="forward">next pages</option><option value="backward">previous pages</option>
      </select></label>
      <label>Steps <input type="number" min="1" max="5" value=${depth} onChange=${(e) => set({ depth: e.target.value })} /></label>
    </div>
    ${result.error
      ? html`<${ErrorState} error=${result.error} retry=${result.reload} />`
      : !result.data
        ? html`<div class="skeleton flow-skeleton" aria-busy="true"></div>`
        : edges.length === 0
          ? html`<p class="muted">No visit went ${backward ? 'to' : 'on from'} ${page} in this period.</p>`
          : html`<div class="scroll"><svg class="sankey" viewBox=${`0 0 ${20 + depth * COL_W + 150} ${H}`} role="img"
                aria-label=${`Top paths ${backward ? 'before' : 'after'} ${page}`}>
              ${links.map(
                (l) => html`<path class="link" stroke-width=${l.w}
                  d=${`M${l.x0},${l.y0} C${(l.x0 + l.x1) / 2},${l.y0} ${(l.x0 + l.x1) / 2},${l.y1} ${l.x1},${l.y1}`}>
                  <title>${l.e.from_page} → ${l.e.to_page}: ${number(l.e.visitors)} visitors</title></path>`,
              )}
              ${nodes.map((col) =>
                [...col.values()].map(
                  (n) => html`<g class="node"><rect x=${n.x} y=${n.y} width=${NODE_W} height=${n.h} />
                    <text x=${n.x + NODE_W + 4} y=${n.y + n.h / 2 + 4}>${n.page}</text></g>`,
                ),
              )}
            </svg></div>
            <table class="rows flow-edges">
              <thead><tr><th scope="col">Step</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Visitors</th></tr></thead>
              <tbody>${edges.slice(0, 30).map(
                (e) => html`<tr data-step=${e.step} data-from=${e.from_page} data-to=${e.to_page} data-visitors=${e.visitors}>
                  <td class="num">${e.step}</td><td>${e.from_page}</td><td>${e.to_page}</td><td class="num">${number(e.visitors)}</td></tr>`,
              )}</tbody>
            </table>`}
  </section>`;
}
