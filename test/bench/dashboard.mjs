// Dashboard benchmark: first full render (KPIs, chart and every breakdown
// panel filled) over the 10M-event benchmark lake, measured inside Chromium
// with the Performance API (performance.now() from navigation start to the
// frame where every widget holds its numbers). Cold = first load after the
// collector starts (every query cold); warm = median of 5 reloads after it
// (the collector's result cache answers: the lake did not change).
// usage: node dashboard.mjs <collector binary> <data dir holding lake/>
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../browser/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const [collectorBin, dataDir] = process.argv.slice(2);
const QUERY = 'site=bench.example&period=custom&date=2026-10-01,2026-10-30';

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

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });

async function render() {
  await page.goto(`${base}/?${QUERY}`, { waitUntil: 'commit' });
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

let cold;
try {
  cold = await render();
} catch (e) {
  child.kill('SIGTERM');
  throw e;
}
const warm = [];
for (let i = 0; i < 5; i++) warm.push(await render());
warm.sort((a, b) => a - b);
console.log(`dashboard over ${dataDir} (bench.example, 30 days, 10.4M events), Chromium ${browser.version()}:`);
console.log(`  first full render, cold (collector just started): ${Math.round(cold)} ms`);
console.log(`  first full render, warm (median of 5 reloads):    ${Math.round(warm[2])} ms  (min ${Math.round(warm[0])}, max ${Math.round(warm[4])})`);
await browser.close();
child.kill('SIGTERM');
