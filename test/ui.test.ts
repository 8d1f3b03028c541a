/**
 * The topology page (issue 13) in headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core): the graph renders every node of llm-features, the live counters move during
 * a run, no console errors, exceptions or failed requests; `GET /api/topology` is exactly
 * `topology show --format json`; the static HTML and SVG exports. Screenshots are test
 * artefacts in test-artifacts/ui/.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePerfEvents } from '../src/domains/llm/generate/perf-stream.js';
import { BIN, type CliResult, ROOT, runCli, tempDir } from './support.js';

const ARTEFACTS = join(ROOT, 'test-artifacts', 'ui');
const dir = tempDir('fs-ui-');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
let browser: Browser | undefined;

/** A page of its own, 1600×1150, whose console errors, exceptions and failed requests are collected. */
async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1600, height: 1150 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'assert') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`exception: ${e.message}`));
  page.on('requestfailed', (r) => {
    // The page's event stream is cut when the server stops at the end of a run: not an error.
    if (!r.url().endsWith('/api/events')) errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  return { page, errors };
}

// Browser-side expressions are strings: the tests are compiled without the DOM library.
const dataset = (page: Page) =>
  page.evaluate('Object.assign({}, document.body.dataset)') as Promise<Record<string, string>>;
const drawnIds = (page: Page) =>
  page.evaluate('[...document.querySelectorAll("svg g.node")].map((g) => g.dataset.id)') as Promise<string[]>;
const settled = (page: Page) =>
  page.waitForFunction('(document.body.dataset.status ?? "loading") !== "loading"');

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
  if (haveChromium) {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!haveChromium)('topology page', () => {
  it('draws every node of llm-features; /api/topology is topology show --format json', async () => {
    const { child, port } = await serving(['ui', '--topology', 'llm-features', '--port', '0']);
    try {
      const api = await fetch(`http://127.0.0.1:${port}/api/topology`).then((r) => r.text());
      const shown = await topologyJson('llm-features');
      expect(api).toBe(shown);
      const ids = (JSON.parse(shown) as { nodes: { id: string }[] }).nodes.map((n) => n.id);
      const { page, errors } = await openPage();
      await page.goto(`http://127.0.0.1:${port}/`);
      await settled(page);
      expect(await dataset(page)).toMatchObject({ status: 'idle', nodes: String(ids.length) });
      expect((await drawnIds(page)).sort()).toEqual([...ids].sort());
      // Every node is really drawn: a box with a size, inside the page.
      for (const id of ids) {
        const box = await page.locator(`svg g.node[data-id="${id}"]`).boundingBox();
        expect(box, id).not.toBeNull();
        expect(box!.width * box!.height, id).toBeGreaterThan(0);
      }
      await page.screenshot({ path: join(ARTEFACTS, 'llm-features.png'), fullPage: true });
      await page.close();
      expect(errors).toEqual([]);
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
      const { page, errors } = await openPage();
      await page.goto(`http://127.0.0.1:${port}/`);
      // The counter moves while the page stays open (no reload): a first positive value, then a
      // greater one pushed over the event stream.
      const read = 'Number(document.body.dataset.eventsRead ?? 0)';
      const first = Number(await (await page.waitForFunction(`${read} > 0 ? ${read} : null`)).jsonValue());
      await page.waitForFunction(`${read} > ${first}`);
      const text = (await page.evaluate(
        '[...document.querySelectorAll("text.metrics, text.metrics-out")].map((t) => t.textContent).join("|")',
      )) as string;
      expect(text).toMatch(/in {2}[1-9][\d,]* · /);
      await page.screenshot({ path: join(ARTEFACTS, 'run-llm-perf.png'), fullPage: true });
      await page.close();
      expect(errors).toEqual([]);
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
    const { page, errors } = await openPage();
    // No network at view time: every request other than the file itself is refused.
    await page.route('**/*', (route) =>
      route.request().url().startsWith('file://') ? route.continue() : route.abort(),
    );
    await page.goto(`file://${file}`);
    await settled(page);
    expect(await dataset(page)).toMatchObject({ status: 'static', nodes: '30' });
    await page.screenshot({ path: join(ARTEFACTS, 'static.png'), fullPage: true });
    await page.close();
    expect(errors).toEqual([]);
    const svg = await runCli(['topology', 'show', '--topology', 'llm-features', '--format', 'svg']);
    expect(svg.code).toBe(0);
    expect(svg.stdout.startsWith('<svg')).toBe(true);
    expect(svg.stdout.match(/<g class="node"/g)).toHaveLength(30);
    expect(svg.stdout).toContain('sliding 1h / slide 5m');
    expect(svg.stdout).toContain('shuffle by model');
  }, 120_000);
});
