/**
 * Oracle test: the file output of `run --topology llm-perf` equals what DuckDB computes over
 * the same rows with the same window definitions — including every re-firing for elements within
 * the allowed lateness — and the late side output holds exactly the events SQL says fall outside
 * the lateness.
 *
 * The SQL restates the semantics of windows.md independently of the engine:
 * - clock(e) = max event time of the lines before e (on-event watermark emission);
 *   watermark(e) = clock(e) - bound - 1;
 * - e belongs to every window [ws, ws+size) containing its time that is not closed,
 *   closed = ws + size - 1 + lateness <= watermark(e); e is late when all of its windows are closed;
 * - a window fires once for the elements that arrived before the watermark passed its end
 *   (revision 0), then once more for each element that arrives after (revision 1, 2, …),
 *   each time over all of its elements so far.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { writePerfEvents } from '../src/domains/llm/generate/perf-stream.js';
import { lines, runCli, summaryOf, tempDir } from './support.js';

interface WindowDef {
  group: string;
  size: number;
  slide: number;
  lateness: number;
  bound: number;
  features: Record<string, string>;
}

const FEATURES_5MIN: Record<string, string> = {
  latency_p50_5min: 'quantile_disc(m.latency, 0.5)',
  latency_p95_5min: 'quantile_disc(m.latency, 0.95)',
  latency_p99_5min: 'quantile_disc(m.latency, 0.99)',
  success_rate_5min: 'count(*) FILTER (WHERE m.err IS NULL) / count(*)',
  error_rate_5min: 'count(*) FILTER (WHERE m.err IS NOT NULL) / count(*)',
  avg_cost_per_request_5min: 'sum(m.cost) / count(*)',
  throughput_qps_5min: 'count(*) / 300',
  token_efficiency_5min: 'sum(m.out_tok) / nullif(sum(m.in_tok), 0)',
  retry_rate_5min: 'sum(m.retries) / count(*)',
};
const FEATURES_1HR: Record<string, string> = {
  latency_p50_1hr: 'quantile_disc(m.latency, 0.5)',
  latency_p95_1hr: 'quantile_disc(m.latency, 0.95)',
  success_rate_1hr: 'count(*) FILTER (WHERE m.err IS NULL) / count(*)',
};
const WINDOWS: WindowDef[] = [
  {
    group: 'perf_5min',
    size: 300_000,
    slide: 300_000,
    lateness: 60_000,
    bound: 120_000,
    features: FEATURES_5MIN,
  },
  {
    group: 'perf_1hr',
    size: 3_600_000,
    slide: 300_000,
    lateness: 120_000,
    bound: 120_000,
    features: FEATURES_1HR,
  },
];

type Values = Record<string, number | null>;

async function sqlOracle(flat: string) {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  await con.run(`
    CREATE TABLE raw AS SELECT * FROM read_json('${flat}', format = 'newline_delimited', columns = {
      line: 'BIGINT', ts: 'VARCHAR', model: 'VARCHAR', latency: 'DOUBLE', cost: 'DOUBLE',
      in_tok: 'DOUBLE', out_tok: 'DOUBLE', err: 'VARCHAR', retries: 'DOUBLE' });
    CREATE TABLE e AS SELECT *, epoch_ms(ts::TIMESTAMPTZ) AS t FROM raw;
    CREATE TABLE ec AS SELECT *, max(t) OVER (ORDER BY line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS clock FROM e;
  `);
  const rows = new Map<string, Values>();
  const late = new Set<string>();
  for (const w of WINDOWS) {
    const n = Math.ceil(w.size / w.slide);
    await con.run(`
      CREATE OR REPLACE TABLE x AS SELECT *, clock - ${w.bound} - 1 AS wm,
        t - (((t % ${w.slide}) + ${w.slide}) % ${w.slide}) AS last_start FROM ec;
      CREATE OR REPLACE TABLE members AS
        SELECT x.*, last_start - k * ${w.slide} AS ws,
               coalesce(x.wm >= last_start - k * ${w.slide} + ${w.size} - 1, false) AS after_end
        FROM x, range(0, ${n}) r(k)
        WHERE last_start - k * ${w.slide} > t - ${w.size}
          AND NOT coalesce(last_start - k * ${w.slide} + ${w.size} - 1 + ${w.lateness} <= x.wm, false);
    `);
    const lateRows = await con.runAndReadAll(
      `SELECT line FROM x WHERE coalesce(last_start + ${w.size} - 1 + ${w.lateness} <= wm, false)`,
    );
    for (const [line] of lateRows.getRows()) late.add(`${w.group}|${Number(line) + 1}`);
    const select = Object.entries(w.features)
      .map(([name, expr]) => `${expr} AS "${name}"`)
      .join(', ');
    const result = await con.runAndReadAll(`
      WITH on_time AS (
        SELECT model, ws, max(line) AS cutoff FROM members WHERE NOT after_end GROUP BY model, ws
      ), late_fp AS (
        SELECT model, ws, line AS cutoff, row_number() OVER (PARTITION BY model, ws ORDER BY line) AS r
        FROM members WHERE after_end
      ), fp AS (
        SELECT model, ws, 0 AS revision, cutoff FROM on_time
        UNION ALL
        SELECT l.model, l.ws, l.r - 1 + (CASE WHEN o.cutoff IS NULL THEN 0 ELSE 1 END), l.cutoff
        FROM late_fp l LEFT JOIN on_time o USING (model, ws)
      )
      SELECT fp.model, fp.ws, fp.revision, ${select}
      FROM fp JOIN members m ON m.model = fp.model AND m.ws = fp.ws AND m.line <= fp.cutoff
      GROUP BY fp.model, fp.ws, fp.revision`);
    for (const r of result.getRowObjects()) {
      const values: Values = {};
      for (const name of Object.keys(w.features)) values[name] = r[name] === null ? null : Number(r[name]);
      rows.set(`${w.group}|${r.model}|${Number(r.ws)}|${Number(r.revision)}`, values);
    }
  }
  con.closeSync();
  return { rows, late };
}

describe('oracle: llm-perf windows equal DuckDB over the same rows', () => {
  const dir = tempDir('fs-oracle-');
  const input = join(dir, 'events.ndjson');
  const flat = join(dir, 'flat.ndjson');
  let ours: Map<string, Values>;
  let ourLate: Set<string>;
  let oracle: Awaited<ReturnType<typeof sqlOracle>>;
  let revisions = 0;

  beforeAll(async () => {
    // Disorder up to 200 s against a 120 s bound: some events fall within the allowed lateness
    // (re-firing), others beyond it (late output); a share far behind is late for both groups.
    await writePerfEvents(input, {
      events: 30_000,
      seed: 11,
      models: 5,
      disorderMs: 200_000,
      lateFraction: 0.01,
    });
    const flatLines: string[] = [];
    lines(input).forEach((l, i) => {
      const e = JSON.parse(l) as Record<string, unknown>;
      const metrics = (e.metrics ?? {}) as Record<string, number>;
      flatLines.push(
        JSON.stringify({
          line: i,
          ts: e.timestamp,
          model: e.model,
          latency: e.latency_ms,
          cost: e.cost,
          in_tok: e.input_tokens,
          out_tok: e.output_tokens,
          err: e.error ?? null,
          retries: metrics.retries ?? 0,
        }),
      );
    });
    writeFileSync(flat, `${flatLines.join('\n')}\n`);

    const res = await runCli([
      'run',
      '--topology',
      'llm-perf',
      '--input',
      input,
      '--out',
      join(dir, 'rows.ndjson'),
      '--late-events',
      join(dir, 'late.ndjson'),
      '--dead-letters',
      join(dir, 'dl.ndjson'),
      '--workers',
      '2',
      '--summary-json',
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(summaryOf(res).deadLetters).toBe(0);
    ours = new Map();
    for (const l of lines(join(dir, 'rows.ndjson'))) {
      const r = JSON.parse(l) as {
        group: string;
        entity_id: string;
        window_start: string;
        revision: number;
        values: Values;
      };
      const key = `${r.group}|${r.entity_id}|${Date.parse(r.window_start)}|${r.revision}`;
      expect(ours.has(key), `duplicate row ${key}`).toBe(false);
      ours.set(key, r.values);
      if (r.revision > 0) revisions++;
    }
    ourLate = new Set(
      lines(join(dir, 'late.ndjson')).map((l) => {
        const r = JSON.parse(l) as { group: string; line: number };
        return `${r.group}|${r.line}`;
      }),
    );
    oracle = await sqlOracle(flat);
  });

  it('exercises re-firing and late data (the test data is not trivial)', () => {
    expect(revisions).toBeGreaterThan(0);
    expect([...oracle.late].some((k) => k.startsWith('perf_5min|'))).toBe(true);
    expect(ours.size).toBeGreaterThan(500);
  });

  it('produces exactly the windows and revisions SQL produces', () => {
    expect([...ours.keys()].sort()).toEqual([...oracle.rows.keys()].sort());
  });

  it('has the same value for every feature of every row (quantiles exactly, sums to 1e-9)', () => {
    let compared = 0;
    for (const [key, expected] of oracle.rows) {
      const got = ours.get(key)!;
      for (const [name, v] of Object.entries(expected)) {
        const g = got[name];
        if (v === null) {
          expect(g, `${key} ${name}`).toBeNull();
        } else if (name.includes('latency_p')) {
          expect(g, `${key} ${name}`).toBe(v);
        } else {
          expect(Math.abs((g as number) - v), `${key} ${name}: ${g} vs ${v}`).toBeLessThanOrEqual(
            1e-9 * Math.max(1, Math.abs(v)),
          );
        }
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it('sends to the late output exactly the events SQL says are past the allowed lateness', () => {
    expect([...ourLate].sort()).toEqual([...oracle.late].sort());
  });
});
