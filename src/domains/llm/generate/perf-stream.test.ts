import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/errors.js';
import { decodeLine } from '../events/decode.js';
import { REASON_CODES } from '../events/types.js';
import {
  type PerfLine,
  generatePerfEvents,
  generatePerfLines,
  mulberry32,
  writePerfEvents,
} from './perf-stream.js';

const dir = mkdtempSync(join(tmpdir(), 'perf-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('mulberry32', () => {
  it('is deterministic and roughly uniform in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
  });
});

describe('generatePerfEvents', () => {
  const opts = { events: 20_000, seed: 7, models: 6 };
  const lines: PerfLine[] = [...generatePerfLines(opts)];

  it('is deterministic for a seed and differs across seeds', () => {
    expect([...generatePerfEvents(opts)]).toEqual(lines.map((l) => l.line));
    const other = [...generatePerfEvents({ ...opts, seed: 8 })];
    expect(other).toHaveLength(lines.length);
    expect(other.slice(0, 100)).not.toEqual(lines.slice(0, 100).map((l) => l.line));
  });

  it('every line decodes as performance_metrics with the event time it was given', () => {
    for (const l of lines) {
      const r = decodeLine(l.line);
      expect(r.ok, l.line).toBe(true);
      if (!r.ok) continue;
      expect(r.event.type).toBe('performance_metrics');
      expect(r.event.ts).toBe(l.ts);
      expect(r.event.body.model).toBe(l.model);
    }
  });

  it('writes timestamps the way the collector does (RFC 3339 UTC, mostly 9 fractional digits)', () => {
    const stamps = lines.map((l) => (JSON.parse(l.line) as { timestamp: string }).timestamp);
    const nine = stamps.filter((s) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/.test(s)).length;
    const three = stamps.filter((s) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(s)).length;
    expect(nine + three).toBe(stamps.length);
    expect(nine / stamps.length).toBeGreaterThan(0.9);
  });

  it('advances ~50–200 ms per event on average, with busier 5-minute spans', () => {
    const ts = lines.map((l) => l.ts!);
    const avgGap = (Math.max(...ts) - Math.min(...ts)) / ts.length;
    expect(avgGap).toBeGreaterThan(50);
    expect(avgGap).toBeLessThan(200);
    const perSpan = new Map<number, number>();
    for (const t of ts) perSpan.set(Math.floor(t / 300_000), (perSpan.get(Math.floor(t / 300_000)) ?? 0) + 1);
    const counts = [...perSpan.values()].slice(1, -1); // whole spans only
    expect(Math.max(...counts)).toBeGreaterThan(3 * median(counts));
  });

  it('has disorder within disorderMs, and late events 1–3 × lateByMs behind the max', () => {
    let max = Number.NEGATIVE_INFINITY;
    let disordered = 0;
    let late = 0;
    for (const l of lines) {
      const ts = l.ts!;
      if (l.kind === 'late') {
        late++;
        expect(max - ts).toBeGreaterThanOrEqual(600_000);
        expect(max - ts).toBeLessThanOrEqual(1_800_000);
      } else {
        expect(l.kind).toBe('event');
        if (ts < max) disordered++;
        expect(max - ts).toBeLessThanOrEqual(90_000);
        max = Math.max(max, ts);
      }
    }
    expect(disordered / lines.length).toBeGreaterThan(0.2);
    expect(late).toBeGreaterThan(10); // default lateFraction 0.002 of 20 000
    expect(late).toBeLessThan(100);
  });

  it('honours disorderMs = 0 and lateFraction = 0: a non-decreasing stream', () => {
    const ts = [...generatePerfLines({ events: 5000, seed: 3, disorderMs: 0, lateFraction: 0 })].map(
      (l) => l.ts!,
    );
    for (let i = 1; i < ts.length; i++) expect(ts[i]!).toBeGreaterThanOrEqual(ts[i - 1]!);
  });

  it('has several models with different latency and cost, ~3 % errors (some timeouts), retries 0–2', () => {
    const bodies = lines.map((l) => JSON.parse(l.line) as Record<string, unknown>);
    const byModel = new Map<string, Array<Record<string, unknown>>>();
    for (const b of bodies) byModel.set(b.model as string, [...(byModel.get(b.model as string) ?? []), b]);
    expect(byModel.size).toBe(6);
    const ok = (b: Record<string, unknown>) => b.error === null;
    const medLatency = (m: string) =>
      median(
        byModel
          .get(m)!
          .filter(ok)
          .map((b) => b.latency_ms as number),
      );
    const medCost = (m: string) =>
      median(
        byModel
          .get(m)!
          .filter(ok)
          .map((b) => b.cost as number),
      );
    expect(medLatency('claude-3-5-sonnet')).toBeGreaterThan(1.5 * medLatency('gpt-4o-mini'));
    expect(medCost('claude-3-5-sonnet')).toBeGreaterThan(5 * medCost('gpt-4o-mini'));

    const errors = bodies.filter((b) => b.error !== null);
    expect(errors.length / bodies.length).toBeGreaterThan(0.015);
    expect(errors.length / bodies.length).toBeLessThan(0.05);
    expect(errors.some((b) => (b.error as string).includes('timeout'))).toBe(true);
    expect(errors.some((b) => !(b.error as string).includes('timeout'))).toBe(true);
    const retries = new Set(bodies.map((b) => (b.metrics as { retries: number }).retries));
    expect([...retries].sort()).toEqual([0, 1, 2]);
  });

  it('with badFraction, writes bad lines of every reason code, each failing with its reason', () => {
    const mixed = [...generatePerfLines({ events: 3000, seed: 5, badFraction: 0.03 })];
    const bad = mixed.filter((l) => l.ts === null);
    expect(bad.length).toBeGreaterThan(50);
    expect(new Set(bad.map((l) => l.kind))).toEqual(new Set(REASON_CODES));
    for (const l of mixed) {
      const r = decodeLine(l.line);
      if (l.ts === null) expect(r.ok ? 'ok' : r.reason).toBe(l.kind);
      else expect(r.ok).toBe(true);
    }
  });

  it('validates its options, naming the field', () => {
    expect(() => [...generatePerfEvents({ events: -1, seed: 1 })]).toThrow(ConfigError);
    expect(() => [...generatePerfEvents({ events: 1, seed: 1, lateFraction: 2 })]).toThrow(/lateFraction/);
    expect(() => [...generatePerfEvents({ events: 1, seed: 1, models: 0 })]).toThrow(/models/);
  });
});

describe('writePerfEvents', () => {
  const opts = {
    events: 5000,
    seed: 11,
    models: 5,
    badFraction: 0.01,
    lateFraction: 0.01,
    oversizeBytes: 4096,
  };
  const expected = [...generatePerfLines(opts)];

  it('streams NDJSON to a file and returns the counts', async () => {
    const path = join(dir, 'perf.ndjson');
    const counts = await writePerfEvents(path, opts);
    const text = readFileSync(path, 'utf8');
    expect(text).toBe(`${expected.map((l) => l.line).join('\n')}\n`);
    expect(counts.lines).toBe(5000);
    expect(counts.bytes).toBe(Buffer.byteLength(text));
    expect(counts.bad).toBe(expected.filter((l) => l.ts === null).length);
    expect(counts.late).toBe(expected.filter((l) => l.kind === 'late').length);
    expect(counts.events + counts.bad).toBe(counts.lines);
    expect(Object.values(counts.badByReason).reduce((a, b) => a + b, 0)).toBe(counts.bad);
    expect(counts.badByReason.oversize).toBeGreaterThan(0);
    const ts = expected.filter((l) => l.ts !== null).map((l) => l.ts!);
    expect(counts.minTs).toBe(Math.min(...ts));
    expect(counts.maxTs).toBe(Math.max(...ts));
  });

  it('gzips when the path ends in .gz', async () => {
    const path = join(dir, 'perf.ndjson.gz');
    const counts = await writePerfEvents(path, opts);
    const text = gunzipSync(readFileSync(path)).toString('utf8');
    expect(text).toBe(`${expected.map((l) => l.line).join('\n')}\n`);
    expect(counts.lines).toBe(5000);
  });
});
