/**
 * `featurestream drift` end to end: rows of two periods in PostgreSQL, with a known shift in one
 * feature of one entity; the built CLI must flag exactly that one (and exit 1 only with
 * --fail-on-drift).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureRow } from '../operators/operator.js';
import type { FeatureDrift } from '../src/drift/assess.js';
import type { DriftReport } from '../src/drift/report.js';
import { OfflineStore } from '../src/stores/offline-postgres.js';
import { dropSchema, lcg, offlineUrl, PG_URL, uniqueName } from './stores-support.js';
import { ROOT, runCli, tempDir } from './support.js';

const W = 300_000;
const DAY = 86_400_000;
const REF_START = Date.UTC(2026, 0, 10);
const CUR_START = REF_START + 3 * DAY;
const MODELS = ['claude', 'gpt-4', 'llama'];
/** Mean and sd of each value, per model offset. */
const BASE: Record<string, [number, number]> = {
  latency_p50_5min: [400, 40],
  latency_p95_5min: [800, 80],
  error_rate_5min: [0.02, 0.005],
  throughput_qps_5min: [12, 2],
};
/** The one shift: claude's p95 latency rises by 1.5 sd in the current period. */
const SHIFT = { model: 'claude', feature: 'latency_p95_5min', by: 120 };

function rowsOf(start: number, days: number, shifted: boolean, seed: number): FeatureRow[] {
  const rnd = lcg(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const rows: FeatureRow[] = [];
  for (let k = 0; k < (days * DAY) / W; k++) {
    const windowStart = start + k * W;
    MODELS.forEach((model, m) => {
      const values: Record<string, number | null> = {};
      for (const [name, [mean, sd]] of Object.entries(BASE)) {
        let v = mean * (1 + 0.1 * m) + sd * normal();
        if (shifted && model === SHIFT.model && name === SHIFT.feature) v += SHIFT.by;
        values[name] = k % 97 === 5 ? null : v;
      }
      rows.push({
        group: 'perf_5min',
        entityType: 'model',
        entityId: model,
        version: 1,
        windowStart,
        windowEnd: windowStart + W,
        eventTime: windowStart + W - 1,
        revision: 0,
        values,
      });
    });
  }
  return rows;
}

describe('featurestream drift over the offline store', () => {
  const schema = uniqueName('i12_drift');
  const url = offlineUrl(schema);
  const dir = tempDir('fs-drift-');
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
  const period = (from: number, days: number) =>
    `${new Date(from).toISOString()}/${new Date(from + days * DAY).toISOString()}`;
  const args = [
    'drift',
    '--offline',
    url,
    '--group',
    'perf_5min',
    '--reference',
    period(REF_START, 3),
    '--current',
    period(CUR_START, 3),
  ];

  beforeAll(async () => {
    const store = await OfflineStore.open(url);
    try {
      await store.migrate();
      await store.writeRows(rowsOf(REF_START, 3, false, 7));
      await store.writeRows(rowsOf(CUR_START, 3, true, 8));
      // Outside both periods: a wild value that must not count.
      await store.writeRows(
        rowsOf(CUR_START + 3 * DAY, 1, false, 9).map((r) => ({ ...r, values: { latency_p50_5min: 1e6 } })),
      );
    } finally {
      await store.close();
    }
  });

  afterAll(async () => {
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('flags exactly the shifted feature of the shifted entity, drifted first (JSON)', async () => {
    const out = join(dir, 'drift.json');
    const r = await runCli([...args, '--format', 'json', '--out', out]);
    expect(r.stderr).toContain('1 drift');
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as DriftReport;
    expect(report.features).toHaveLength(MODELS.length * Object.keys(BASE).length);
    expect(report.reference).toMatchObject({ from: new Date(REF_START).toISOString(), rows: 3 * 288 * 3 });
    expect(report.current.rows).toBe(3 * 288 * 3);
    const flagged = report.features.filter((f: FeatureDrift) => f.status !== 'no_drift');
    expect(flagged.map((f) => [f.entity_id, f.feature, f.status])).toEqual([
      [SHIFT.model, SHIFT.feature, 'drift'],
    ]);
    const hit = report.features[0]!;
    expect(hit).toMatchObject({ entity_id: SHIFT.model, feature: SHIFT.feature, status: 'drift' });
    expect(hit.z!).toBeGreaterThan(1);
    expect(hit.psi!).toBeGreaterThan(0.25);
    expect(hit.ks!.p_value).toBeLessThan(1e-6);
    // Nulls (every 97th window) are left out of the samples.
    expect(hit.n_reference).toBe(864 - Math.ceil((864 - 5) / 97));
    for (const f of report.features) {
      expect(Object.keys(f)).toEqual(
        expect.arrayContaining(['entity_id', 'feature', 'n_reference', 'n_current', 'ks', 'wasserstein']),
      );
      expect(f).toHaveProperty('psi');
      expect(f).toHaveProperty('z');
      expect(f).toHaveProperty('severity');
    }
    expect(JSON.stringify(report)).not.toMatch(/NaN|Infinity/);
  });

  it('--fail-on-drift exits 1 naming the feature; 0 for an entity without drift', async () => {
    const failed = await runCli([...args, '--format', 'text', '--fail-on-drift']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`latency_p95_5min of claude`);
    expect(failed.stdout).toMatch(/^drift {2,}\w+ +claude +latency_p95_5min /m);
    const clean = await runCli([...args, '--entity', 'gpt-4', '--fail-on-drift', '--format', 'text']);
    expect(clean.code).toBe(0);
    expect(clean.stdout).not.toMatch(/^drift {2,}/m);
    expect(clean.stdout).toMatch(/^no_drift +none +gpt-4 +latency_p95_5min /m);
  });

  it('--features, --pool and bad flags', async () => {
    const r = await runCli([...args, '--features', 'PERF_001,error_rate_5min', '--pool']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as DriftReport;
    expect(report.features.map((f) => [f.entity_id, f.feature]).sort()).toEqual([
      ['*', 'error_rate_5min'],
      ['*', 'latency_p50_5min'],
    ]);
    const bad = await runCli([...args.slice(0, -2), '--current', '2026-01-13/2026-01-12']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--current');
  });

  it('the HTML report renders in headless Chromium: one histogram per feature, no console errors, no network', async () => {
    const out = join(dir, 'drift.html');
    const r = await runCli([...args, '--format', 'html', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (q) => requests.push(q.url()));
      await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
      const features = MODELS.length * Object.keys(BASE).length;
      expect(await page.locator('section.feature').count()).toBe(features);
      expect(await page.locator('section.feature svg.histogram').count()).toBe(features);
      // Drifted first, with bars drawn for both periods.
      const first = page.locator('section.feature').first();
      // The rendered text (innerText) is what a reader sees: the pattern matches its whitespace.
      // biome-ignore lint/performance/useDomNodeTextContent: Playwright's rendered text, on purpose
      expect(await first.locator('h2').innerText()).toMatch(
        /drift · (medium|high|critical)\s+latency_p95_5min\s+claude/,
      );
      expect(await first.locator('rect.ref').count()).toBe(20);
      expect(await first.locator('rect.cur').count()).toBe(20);
      const box = await first.locator('svg.histogram').boundingBox();
      expect(box!.width).toBeGreaterThan(300);
      expect(box!.height).toBeGreaterThan(100);
      expect(errors).toEqual([]);
      expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
      const artefacts = join(ROOT, 'test-artifacts');
      mkdirSync(artefacts, { recursive: true });
      await page.screenshot({ path: join(artefacts, 'drift-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
