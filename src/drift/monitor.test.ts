import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { FeatureRow } from '../../operators/operator.js';
import { formatRow } from '../connectors/row-format.js';
import { ConfigError } from '../shared/errors.js';
import { tempDir } from '../../test/support.js';
import { DriftMonitor } from './monitor.js';

const W = 300_000;
const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

/** perf_5min rows of two models over 4 h; model b's latency jumps in the 4th hour. */
function rows(): FeatureRow[] {
  const out: FeatureRow[] = [];
  for (let k = 0; k < 48; k++) {
    for (const m of ['a', 'b']) {
      const start = T0 + k * W;
      const jump = m === 'b' && k >= 36 ? 500 : 0;
      out.push({
        group: 'perf_5min',
        entityType: 'model',
        entityId: m,
        version: 1,
        windowStart: start,
        windowEnd: start + W,
        eventTime: start + W - 1,
        revision: 0,
        values: { latency: 100 + ((k * 37) % 11) + jump },
      });
    }
  }
  return out;
}

const config = {
  groups: ['perf_5min'],
  currentMs: H,
  reference: { trailingMs: 2 * H },
  delayMs: 0,
  minSamples: 5,
};

describe('DriftMonitor', () => {
  it('evaluates each boundary once, flags the jump, sets the metrics', async () => {
    const m = new DriftMonitor(config);
    const registry = new Registry();
    m.registerMetrics(registry);
    for (const r of rows()) m.observe(r);
    const { rows: out, alerts } = m.advance(Number.POSITIVE_INFINITY);
    // Boundaries T0+5min…T0+4h every hour: 1h, 2h, 3h, 4h (the first holds data from T0).
    const ends = [...new Set(out.map((r) => r.windowEnd))];
    expect(ends).toEqual([T0 + H, T0 + 2 * H, T0 + 3 * H, T0 + 4 * H]);
    const last = out.filter((r) => r.windowEnd === T0 + 4 * H);
    expect(last.map((r) => [r.entityId, r.values.status])).toEqual([
      ['perf_5min/latency/a', 0],
      ['perf_5min/latency/b', 2],
    ]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ group: 'perf_5min', entity_id: 'b', feature: 'latency' });
    // The first hour has no reference: insufficient data (status −1), never NaN.
    expect(out.filter((r) => r.windowEnd === T0 + H).every((r) => r.values.status === -1)).toBe(true);
    expect(JSON.stringify(out)).not.toMatch(/NaN|Infinity/);
    const text = await registry.metrics();
    expect(text).toMatch(/feature_drift_score\{feature="latency",entity="b"\} 1/);
    expect(text).toMatch(/feature_drift_alerts_total\{feature="latency",severity="critical"\} 1/);
    expect(m.advance(Number.POSITIVE_INFINITY).rows).toEqual([]);
  });

  it('the output does not depend on row order or on when advance is called', () => {
    const a = new DriftMonitor(config);
    for (const r of rows()) a.observe(r);
    const once = a.advance(Number.POSITIVE_INFINITY).rows;
    const b = new DriftMonitor(config);
    const shuffled = rows().reverse();
    const got: FeatureRow[] = [];
    for (let i = 0; i < shuffled.length; i++) {
      b.observe(shuffled[i]!);
    }
    got.push(...b.advance(T0 + 2 * H).rows, ...b.advance(T0 + 3 * H + 1).rows);
    got.push(...b.advance(Number.POSITIVE_INFINITY).rows);
    expect(got).toEqual(once);
  });

  it('a later revision replaces the value; restore continues where the file ends', () => {
    const all = rows();
    const a = new DriftMonitor(config);
    for (const r of all) a.observe(r);
    const full = a.advance(Number.POSITIVE_INFINITY).rows;

    // A run that evaluated up to 2 h, "crashed", and restarts from its committed file.
    const first = new DriftMonitor(config);
    const early = all.filter((r) => r.eventTime < T0 + 2 * H + 30 * 60_000);
    for (const r of early) first.observe(r);
    const done = first.advance(T0 + 2 * H + 1).rows;
    const file = join(tempDir('fs-drift-mon-'), 'rows.ndjson');
    writeFileSync(file, [...early, ...done].map(formatRow).join(''));
    const second = new DriftMonitor(config);
    second.restore(file);
    for (const r of all.filter((r) => r.eventTime >= T0 + 2 * H + 30 * 60_000)) second.observe(r);
    expect([...done, ...second.advance(Number.POSITIVE_INFINITY).rows]).toEqual(full);

    const c = new DriftMonitor(config);
    for (const r of all) c.observe(r);
    // Revision 1 of b's last window puts it back in line with the rest: still drift (11 others).
    c.observe({ ...all[all.length - 1]!, revision: 1, values: { latency: 105 } });
    const lastB = c
      .advance(Number.POSITIVE_INFINITY)
      .rows.filter((r) => r.entityId.endsWith('/b'))
      .pop()!;
    expect(lastB.values.n_current).toBe(12);
  });

  it('config errors name the field', () => {
    expect(() => new DriftMonitor({ ...config, currentMs: 0 })).toThrow(ConfigError);
    expect(() => new DriftMonitor({ ...config, currentMs: 0 })).toThrow(/currentMs/);
    expect(() => new DriftMonitor({ ...config, groups: ['drift'] })).toThrow(/own group/);
  });
});
