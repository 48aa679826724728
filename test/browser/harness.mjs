// Shared pieces of the browser tests: a real collector process on port 0,
// Debian's Chromium via playwright-core, and DuckDB (the CLI) to read the lake.
import { spawn, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests through \`make test\``);
  return value;
}

/** Starts mallard-collector (over a copy of `lake`, if given); resolves to
 * { base, dataDir, logs, stop() }. */
export async function startCollector(env = {}, { lake } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'mallard-browser-'));
  if (lake) cpSync(lake, join(dataDir, 'lake'), { recursive: true });
  const child = spawn(required('MALLARD_COLLECTOR_BIN'), [], {
    env: {
      MALLARD_LISTEN: '127.0.0.1:0',
      MALLARD_DATA_DIR: dataDir,
      MALLARD_LOG_FORMAT: 'json',
      MALLARD_FLUSH_INTERVAL: '200ms',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs = [];
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start: ${logs.join('\n')}`)), 30000);
    createInterface({ input: child.stderr }).on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'listening') {
          clearTimeout(timer);
          resolve(`http://${entry.addr}`);
        }
      } catch {}
    });
    child.on('exit', (code) => reject(new Error(`collector exited with ${code}: ${logs.join('\n')}`)));
  });
  return {
    base,
    dataDir,
    logs,
    /** Graceful stop: flushes everything buffered. */
    stop: () =>
      new Promise((resolve) => {
        child.on('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/** Headless Chromium; every *.test host name resolves to this machine. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP *.test 127.0.0.1',
    ],
  });
}

/** Runs SQL over the lake with the DuckDB CLI; returns rows as objects. */
export function queryLake(dataDir, sql) {
  const lake = `read_parquet('${dataDir}/lake/**/*.parquet', hive_partitioning = false)`;
  const out = execFileSync(required('DUCKDB_CLI'), ['-json', '-c', sql.replaceAll('{lake}', lake)], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}
