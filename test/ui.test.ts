/**
 * The topology page (issue 13) in headless Chromium (Debian's /usr/bin/chromium over the
 * DevTools protocol, test/ui-browser.mjs): the graph renders every node of llm-features, the
 * live counters move during a run, no console errors; `GET /api/topology` is exactly
 * `topology show --format json`; the static HTML and SVG exports. Screenshots are kept in
 * test-results/ui/.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { writePerfEvents } from '../src/generate/perf-stream.js';
import { BIN, type CliResult, ROOT, runCli, tempDir } from './support.js';

const run = promisify(execFile);
const ARTEFACTS = join(ROOT, 'test-results', 'ui');
const dir = tempDir('fs-ui-');
const haveChromium = existsSync('/usr/bin/chromium');

interface BrowserResult {
  samples: Record<string, string>[];
  errors: string[];
  nodeIds: string[];
  metricsText: string;
  failure?: string;
}

async function browse(job: Record<string, unknown>): Promise<BrowserResult> {
  const { stdout } = await run(
    process.execPath,
    ['--experimental-websocket', join(ROOT, 'test/ui-browser.mjs'), JSON.stringify(job)],
    { timeout: 90_000, maxBuffer: 1 << 24 },
  );
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as BrowserResult;
  expect(r.failure).toBeUndefined();
  return r;
}

/** Starts a CLI that serves the page and resolves with its port (printed as `topology page: URL`). */
async function serving(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += String(d);
  });
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const result = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    const look = (d: Buffer | string) => {
      text += String(d);
      const m = /topology page: http:\/\/127\.0\.0\.1:(\d+)\//.exec(text);
      if (m) resolve(Number(m[1]));
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', () => reject(new Error(`exited before serving: ${text}`)));
  });
  return { child: Object.assign(child, { result }), port };
}

const topologyJson = async (name: string) =>
  (await runCli(['topology', 'show', '--topology', name, '--format', 'json'])).stdout;

beforeAll(async () => {
  mkdirSync(ARTEFACTS, { recursive: true });
  await writePerfEvents(join(dir, 'perf.ndjson'), { events: 200_000, seed: 5, models: 4 });
}, 120_000);

describe.skipIf(!haveChromium)('topology page', () => {
  it('draws every node of llm-features; /api/topology is topology show --format json', async () => {
    const { child, port } = await serving(['ui', '--topology', 'llm-features', '--port', '0']);
    try {
      const api = await fetch(`http://127.0.0.1:${port}/api/topology`).then((r) => r.text());
      const shown = await topologyJson('llm-features');
      expect(api).toBe(shown);
      const ids = (JSON.parse(shown) as { nodes: { id: string }[] }).nodes.map((n) => n.id);
      const r = await browse({
        url: `http://127.0.0.1:${port}/`,
        until: 'status',
        screenshot: join(ARTEFACTS, 'llm-features.png'),
      });
      expect(r.errors).toEqual([]);
      expect(r.samples[0]).toMatchObject({ status: 'idle', nodes: String(ids.length) });
      expect([...r.nodeIds].sort()).toEqual([...ids].sort());
      const metrics = (await fetch(`http://127.0.0.1:${port}/api/metrics`).then((x) => x.json())) as {
        status: string;
        nodes: Record<string, unknown>;
      };
      expect(metrics.status).toBe('idle');
      expect(Object.keys(metrics.nodes).sort()).toEqual([...ids].sort());
    } finally {
      child.kill('SIGTERM');
      await child.result;
    }
  }, 120_000);

  it('run --ui-port: the live counters move during a run, without console errors', async () => {
    const { child, port } = await serving(
      [
        'run',
        '--topology',
        'llm-perf',
        '--input',
        join(dir, 'perf.ndjson'),
        '--out',
        join(dir, 'rows.ndjson'),
        '--state-dir',
        join(dir, 'state'),
        '--workers',
        '2',
        '--checkpoint-interval',
        '300',
        '--batch-lines',
        '512',
        '--ui-port',
        '0',
      ],
      { FEATURESTREAM_UI_INTERVAL_MS: '200' },
    );
    try {
      const r = await browse({
        url: `http://127.0.0.1:${port}/`,
        until: 'status',
        samples: 6,
        intervalMs: 300,
        screenshot: join(ARTEFACTS, 'run-llm-perf.png'),
      });
      expect(r.errors).toEqual([]);
      const read = r.samples.map((s) => Number(s.eventsRead));
      // The counter moved while the page was open: at least two different positive values.
      expect(new Set(read.filter((n) => n > 0)).size, JSON.stringify(r.samples)).toBeGreaterThanOrEqual(2);
      expect(read.at(-1)!).toBeGreaterThan(read[0]!);
      expect(r.metricsText).toMatch(/in {2}[1-9][\d,]* · /);
    } finally {
      const done = await child.result;
      expect(done.code, done.stderr).toBe(0);
    }
  }, 120_000);

  it('topology show --format html is one self-contained page; --format svg draws every node', async () => {
    const html = await runCli(['topology', 'show', '--topology', 'llm-features', '--format', 'html']);
    expect(html.code, html.stderr).toBe(0);
    expect(html.stdout).not.toMatch(/<script src=|<link rel="stylesheet"|https?:\/\/(?!www\.w3\.org)/);
    const file = join(dir, 'llm-features.html');
    writeFileSync(file, html.stdout);
    const r = await browse({
      url: `file://${file}`,
      until: 'status',
      screenshot: join(ARTEFACTS, 'static.png'),
    });
    expect(r.errors).toEqual([]);
    expect(r.samples[0]).toMatchObject({ status: 'static', nodes: '30' });
    const svg = await runCli(['topology', 'show', '--topology', 'llm-features', '--format', 'svg']);
    expect(svg.code).toBe(0);
    expect(svg.stdout.startsWith('<svg')).toBe(true);
    expect(svg.stdout.match(/<g class="node"/g)).toHaveLength(30);
    expect(svg.stdout).toContain('sliding 1h / slide 5m');
    expect(svg.stdout).toContain('shuffle by model');
  }, 120_000);
});
