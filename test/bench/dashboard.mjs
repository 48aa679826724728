// Dashboard benchmark: full renders (KPIs, chart and every breakdown panel
// filled) over the benchmark lake, measured inside Chromium with the
// Performance API (performance.now() from navigation start to the frame
// where every widget holds its numbers).
//
// Cold = the first load after the collector starts (its result cache is
// empty, so every query runs; the lake's files are in the OS page cache).
// Each cold scenario gets a freshly started collector. Warm = median of 5
// reloads after a cold render (the result cache answers). The collector's
// peak RSS (VmHWM) is read from /proc before each one stops.
// usage: node dashboard.mjs <collector binary> <data dir holding lake/> [label]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../browser/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const [collectorBin, dataDir, label = '10M events'] = process.argv.slice(2);
const RANGE = 'site=bench.example&period=custom&date=2026-10-01,2026-10-30';
const SCENARIOS = [
  ['first full render', RANGE, true],
  ['first full render + comparison', `${RANGE}&compare=1`, false],
  ['filtered by visit:country == DE', `${RANGE}&filter=${encodeURIComponent('visit:country == DE')}`, false],
  ['filtered by event:page == /', `${RANGE}&filter=${encodeURIComponent('event:page == /')}`, false],
];

async function startCollector() {
  const child = spawn(collectorBin, [], {
    env: { ...process.env, MALLARD_LISTEN: '127.0.0.1:0', MALLARD_DATA_DIR: dataDir, MALLARD_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const base = await new Promise((resolve, reject) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      try {
        const e = JSON.parse(line);
        if (e.msg === 'listening') resolve(`http://${e.addr}`);
      } catch {}
    });
    child.on('exit', (code) => reject(new Error(`collector exited with ${code}`)));
  });
  return { child, base };
}

// Peak resident memory of a running process, MiB.
const peakRss = (pid) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });

async function render(base, query) {
  await page.goto(`${base}/?${query}`, { waitUntil: 'commit' });
  const ms = await page.waitForFunction(
    () => {
      const kpis = document.querySelectorAll('[data-kpi][data-value]:not([data-value=""])').length === 6;
      const chart = document.querySelectorAll('rect.hit').length > 0;
      const panels = [...document.querySelectorAll('[data-panel]')].every((p) => p.querySelector('tr.row'));
      return kpis && chart && panels && document.querySelectorAll('[data-panel]').length === 5 && performance.now();
    },
    null,
    { polling: 'raf', timeout: 120000 },
  ).catch(async (e) => {
    const state = await page.evaluate(() => ({
      kpis: document.querySelectorAll('[data-kpi][data-value]:not([data-value=""])').length,
      chart: document.querySelectorAll('rect.hit').length,
      panels: [...document.querySelectorAll('[data-panel]')].map((p) => [p.dataset.panel, p.querySelectorAll('tr.row').length]),
      text: document.body.innerText.slice(0, 300),
    }));
    throw new Error(`the dashboard did not render: ${JSON.stringify(state)} (${e.message})`);
  });
  return ms.jsonValue();
}

console.log(`dashboard over ${dataDir} (bench.example, 30 days, ${label}), Chromium ${browser.version()}:`);
let peak = 0;
for (const [name, query, warmToo] of SCENARIOS) {
  const { child, base } = await startCollector();
  try {
    const cold = await render(base, query);
    let line = `  ${(name + ', cold:').padEnd(44)} ${String(Math.round(cold)).padStart(6)} ms`;
    if (warmToo) {
      const warm = [];
      for (let i = 0; i < 5; i++) warm.push(await render(base, query));
      warm.sort((a, b) => a - b);
      line += `   warm (median of 5): ${Math.round(warm[2])} ms`;
    }
    const rss = peakRss(child.pid);
    peak = Math.max(peak, rss);
    console.log(`${line}   collector peak RSS ${Math.round(rss)} MiB`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('exit', resolve));
  }
}
console.log(`  peak collector RSS over these renders: ${Math.round(peak)} MiB (the issue's budget: 300 MiB)`);
await browser.close();
