// The tracking script in real headless Chromium: a page with the script tag
// sends a pageview, an SPA navigation, queued and direct custom events with
// props and revenue, and an outbound click; the collector stores exactly those.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startCollector, launchBrowser, queryLake } from './harness.mjs';

const PERSON =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';

function page(collector, { allowLocal = true } = {}) {
  const api = `${collector}/api/event`;
  return `<!doctype html><html><head><title>Test shop</title>
<script>window.mallard=window.mallard||function(){(window.mallard.q=window.mallard.q||[]).push(arguments)};
mallard('Early', {props: {when: 'queued'}});</script>
<script defer data-domain="site.test" data-api="${api}" data-outbound ${allowLocal ? 'data-allow-local' : ''}
  src="${collector}/js/script.js"></script></head>
<body><h1>Shop</h1>
<button id="signup" onclick="mallard('Signup', {props: {plan: 'pro'}, revenue: {currency: 'EUR', amount: 9.99}, callback: function () { window.signedUp = true; }})">Sign up</button>
<button id="spa" onclick="history.pushState({}, '', '/app/settings?tab=2')">Settings</button>
<a id="out" href="http://other.test:${globalThis.sitePort}/landing">Elsewhere</a>
<a id="same" href="/local">Local link</a>
</body></html>`;
}

async function withSite(html, fn) {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(req.url.startsWith('/landing') ? '<!doctype html><p>landed</p>' : html());
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  globalThis.sitePort = server.address().port;
  try {
    return await fn(`http://site.test:${globalThis.sitePort}`);
  } finally {
    server.close();
  }
}

test('pageviews, SPA navigation, custom events and outbound clicks are stored exactly', async () => {
  const collector = await startCollector();
  const browser = await launchBrowser();
  const errors = [];
  try {
    await withSite(() => page(collector.base), async (site) => {
      // A person's Chrome: the default HeadlessChrome user agent is (rightly) dropped as a bot.
      const ctx = await browser.newContext({ userAgent: PERSON });
      const tab = await ctx.newPage();
      tab.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      tab.on('pageerror', (e) => errors.push(String(e)));
      const foreign = [];
      tab.on('request', (r) => {
        const u = new URL(r.url());
        if (u.origin !== collector.base && !u.hostname.endsWith('.test')) foreign.push(r.url());
      });
      const posted = (name) =>
        tab.waitForRequest((r) => r.url().endsWith('/api/event') && JSON.parse(r.postData() || '{}').n === name);
      await Promise.all([posted('pageview'), tab.goto(`${site}/?utm_source=newsletter`)]);
      await tab.click('#signup');
      await tab.waitForFunction(() => window.signedUp === true);
      await Promise.all([posted('pageview'), tab.click('#spa')]);
      await Promise.all([posted('Outbound Link: Click'), tab.click('#out')]);
      await tab.waitForURL('**/landing');
      await ctx.close();
      assert.deepEqual(foreign, [], 'the page talked only to the site and the collector');
    });
  } finally {
    await browser.close();
    await collector.stop();
  }
  assert.deepEqual(errors, []);
  const rows = queryLake(
    collector.dataDir,
    `SELECT name, pathname, utm_source, CAST(props AS VARCHAR) AS props, CAST(revenue_amount AS VARCHAR) AS revenue,
            revenue_currency, browser, device
     FROM {lake} WHERE name <> 'engagement' ORDER BY name, pathname`,
  );
  const pick = (r) => [r.name, r.pathname, r.utm_source, r.props, r.revenue, r.revenue_currency];
  assert.deepEqual(rows.map(pick), [
    ['Early', '/', 'newsletter', '{when=queued}', null, null],
    ['Outbound Link: Click', '/app/settings', null, `{url='http://other.test:${globalThis.sitePort}/landing'}`, null, null],
    ['Signup', '/', 'newsletter', '{plan=pro}', '9.9900', 'EUR'],
    ['pageview', '/', 'newsletter', '{}', null, null],
    ['pageview', '/app/settings', null, '{}', null, null],
  ]);
  assert.ok(rows.every((r) => r.browser === 'Chrome' && r.device === 'desktop'), JSON.stringify(rows));
  // Engagement rows, if any, are only engagement rows of our pages.
  const engagement = queryLake(collector.dataDir, `SELECT pathname, scroll_depth, engaged_ms FROM {lake} WHERE name = 'engagement'`);
  for (const e of engagement) assert.ok(['/', '/app/settings'].includes(e.pathname), JSON.stringify(e));
});

test('the script does nothing under automation unless data-allow-local is set', async () => {
  const collector = await startCollector();
  const browser = await launchBrowser();
  let sent = 0;
  try {
    await withSite(() => page(collector.base, { allowLocal: false }), async (site) => {
      const tab = await browser.newPage({ userAgent: PERSON });
      tab.on('request', (r) => r.url().includes('/api/event') && sent++);
      await tab.goto(site);
      await tab.click('#signup');
      await tab.waitForFunction(() => window.signedUp === true); // the callback still runs
      await tab.waitForTimeout(300);
    });
  } finally {
    await browser.close();
    await collector.stop();
  }
  assert.equal(sent, 0);
});
