/**
 * The shipped example of a user topology (examples/endpoint-errors): its topology file and
 * plugin run on the file source through the CLI with two workers (the plugin loads in every
 * worker), and every row equals a straightforward recount of the example's events.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, summaryOf, tempDir } from './support.js';

const EXAMPLE = join(ROOT, 'examples/endpoint-errors');
const MIN5 = 300_000;
const HOUR = 3_600_000;

interface Row {
  group: string;
  entity_id: string;
  window_start: string | null;
  event_time: string;
  values: Record<string, number | null>;
}

/** The example's events, recounted: per endpoint and window, calls, 5xx, 4xx and ≥ 400. */
function oracle() {
  const events = readFileSync(join(EXAMPLE, 'events.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { timestamp: string; method: string; path: string; status: number });
  type Counts = { n: number; err: number; client: number; failed: number };
  const add = (m: Map<string, Counts>, k: string, status: number) => {
    const c = m.get(k) ?? { n: 0, err: 0, client: 0, failed: 0 };
    c.n++;
    if (status >= 500) c.err++;
    if (status >= 400 && status < 500) c.client++;
    if (status >= 400) c.failed++;
    m.set(k, c);
  };
  const w5 = new Map<string, Counts>();
  const w60 = new Map<string, Counts>();
  const streaks = new Map<string, number>();
  const streak = new Map<string, number>();
  // Keyed processors see their records in event-time order (operators/event-time-sort.ts), so the
  // streak is counted over the events sorted by time (the example has no equal times per endpoint).
  const byTime = [...events].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
  for (const e of byTime) {
    const endpoint = `${e.method} ${e.path}`;
    const ts = Date.parse(e.timestamp);
    const start = ts - (ts % MIN5);
    add(w5, `${endpoint}|${start}`, e.status);
    // A 1 h window sliding by 5 min holds the record in the 12 windows starting up to 55 min before its pane.
    for (let s = start - HOUR + MIN5; s <= start; s += MIN5) add(w60, `${endpoint}|${s}`, e.status);
    const cur = e.status >= 500 ? (streak.get(endpoint) ?? 0) + 1 : 0;
    streak.set(endpoint, cur);
    streaks.set(`${endpoint}|${ts}`, cur);
  }
  return { events: events.length, w5, w60, streaks };
}

describe('examples/endpoint-errors', () => {
  it('runs with its plugin on the file source and every row equals a recount of the events', async () => {
    const dir = tempDir('fs-example-');
    const out = join(dir, 'rows.ndjson');
    const r = await runCli([
      'run',
      '--topology',
      join(EXAMPLE, 'topology.yaml'),
      '--plugin',
      join(EXAMPLE, 'plugin.js'),
      '--input',
      join(EXAMPLE, 'events.ndjson'),
      '--out',
      out,
      '--workers',
      '2',
      '--summary-json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r);
    const want = oracle();
    expect(s.eventsRead).toBe(want.events);
    expect(s.deadLetters).toBe(0);
    expect(s.lateEvents).toBe(0);
    const rows = readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Row);
    const of = (g: string) => rows.filter((x) => x.group === g);
    const key = (x: Row) => `${x.entity_id}|${Date.parse(x.window_start!)}`;

    const w5 = of('endpoint_5min');
    expect(w5).toHaveLength(want.w5.size);
    for (const row of w5) {
      const c = want.w5.get(key(row))!;
      expect(row.values).toEqual({
        calls_5min: c.n,
        error_rate_5min: c.err / c.n,
        client_error_rate_5min: c.client / c.n,
        failed_share_5min: c.failed / c.n, // the plugin's aggregation
      });
    }
    const w60 = of('endpoint_1hr');
    expect(w60).toHaveLength(want.w60.size);
    for (const row of w60) {
      const c = want.w60.get(key(row))!;
      expect(row.values).toEqual({ error_rate_1hr: c.err / c.n });
    }
    const streaks = of('endpoint_streak');
    expect(streaks).toHaveLength(want.events);
    for (const row of streaks) {
      expect(row.values.consecutive_errors).toBe(
        want.streaks.get(`${row.entity_id}|${Date.parse(row.event_time)}`),
      );
    }
    // The example's errors are not all zero: the recount would not catch a dead column otherwise.
    expect(Math.max(...streaks.map((x) => x.values.consecutive_errors!))).toBeGreaterThan(1);
  }, 120_000);

  it('exits 2 naming the field when the plugin is not given', async () => {
    const r = await runCli(['topology', 'show', '--topology', join(EXAMPLE, 'topology.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/field `nodes\.http_calls\.fn`: unknown operator: filter function "http-calls"/);
  });
});
