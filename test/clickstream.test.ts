/**
 * The clickstream example (examples/clickstream): a user's own event schema (a JSON Schema in a
 * plugin) and the topology file over it, run through the CLI from the build.
 *
 * - File source, two workers: every row of the four groups equals DuckDB's recount over the
 *   valid events with the same window definitions, and every dead letter has the reason its
 *   malformed record was written for.
 * - Kafka source (the test broker), the same events over four partitions: the same rows.
 * - The same run into the real stores (a private Redis, a PostgreSQL schema), then `serve
 *   --topology FILE --plugin MODULE` answers the latest values and point-in-time reads of
 *   clickstream groups.
 *
 * The recount restates the semantics of docs/topology-files.md independently of the engine.
 * The events arrive in time order but for a jitter under 30 s, inside the windows' 60 s
 * out-of-orderness, so no window fires before its last element arrives: every window fires once
 * (revision 0) when the watermark passes its end or at the end of the input, nothing is late,
 * and a window's row is an aggregate over all of its elements — which is what the SQL computes
 * (the test checks that the input keeps that promise: `disorder` below). Keyed processors see a
 * key's records in event-time order, as the SQL window `ORDER BY t` does (times are distinct).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateRedis } from '../src/stores/private-redis.js';
import {
  folderLines,
  KAFKA_ENTRY,
  produce,
  startBroker,
  startRunner,
  type TestBroker,
} from './kafka/broker.js';
import { dropSchema, offlineUrl, PG_URL, uniqueName } from './stores-support.js';
import { BIN, lines, ROOT, runCli, summaryOf, tempDir } from './support.js';

const EXAMPLE = join(ROOT, 'examples/clickstream');
const TOPOLOGY = join(EXAMPLE, 'topology.yaml');
const PLUGIN = join(EXAMPLE, 'plugin.js');
const EVENTS = join(EXAMPLE, 'events.ndjson');
const GAP = 1_800_000;
const MIN5 = 300_000;
const HOUR = 3_600_000;
const BOUND = 60_000; // every window's and the processor's outOfOrderness
const TOPIC = 'clickstream-events';

/** The malformed records of make-events.mjs and the reason each was written for. */
const MALFORMED: Readonly<Record<string, string>> = {
  'bad-1': 'not_json',
  'bad-2': 'not_json',
  'bad-3': 'unknown_type',
  'bad-4': 'missing_field',
  'bad-5': 'missing_field',
  'bad-6': 'wrong_type',
  'bad-7': 'out_of_range',
  'bad-8': 'bad_timestamp',
  'bad-9': 'bad_timestamp',
};

type Values = Record<string, number | null>;
interface Row {
  group: string;
  entity_id: string;
  window_start: string | null;
  window_end: string | null;
  event_time: string;
  revision: number;
  values: Values;
}

const eventLines = lines(EVENTS);
/** Which malformed record a line is (by its event_id, or its place for the unparseable ones). */
function malformedId(line: string): string | null {
  if (line.startsWith('{"event_id":"bad-1"')) return 'bad-1';
  if (line === '["page_view"]') return 'bad-2';
  const id = (JSON.parse(line) as { event_id: string }).event_id;
  return id.startsWith('bad-') ? id : null;
}

const dir = tempDir('fs-clickstream-');
const schema = uniqueName('fs_clickstream');
let redis: PrivateRedis;
let broker: TestBroker;
let fileRun: { summary: ReturnType<typeof summaryOf>; rows: string[]; dead: string[]; late: string[] };

beforeAll(async () => {
  redis = await PrivateRedis.start();
  broker = await startBroker(1, [`${TOPIC}:4`]);
  await produce(
    broker,
    TOPIC,
    eventLines.map((value, i) => ({ key: `line-${i}`, value })),
  );
  const r = await runCli([
    'run',
    '--topology',
    TOPOLOGY,
    '--plugin',
    PLUGIN,
    '--input',
    EVENTS,
    '--out',
    join(dir, 'rows.ndjson'),
    '--dead-letters',
    join(dir, 'dead.ndjson'),
    '--late-events',
    join(dir, 'late.ndjson'),
    '--state-dir',
    join(dir, 'state'),
    '--online',
    redis.url,
    '--offline',
    offlineUrl(schema),
    '--workers',
    '2',
    '--summary-json',
  ]);
  expect(r.code, r.stderr).toBe(0);
  const opt = (p: string) => {
    try {
      return lines(p);
    } catch {
      return [];
    }
  };
  fileRun = {
    summary: summaryOf(r),
    rows: lines(join(dir, 'rows.ndjson')),
    dead: opt(join(dir, 'dead.ndjson')),
    late: opt(join(dir, 'late.ndjson')),
  };
}, 240_000);

afterAll(async () => {
  await broker?.stop();
  await redis?.stop();
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
  await dropSchema(pool, schema);
  await pool.end();
});

/** DuckDB's recount of the four groups over the valid events, keyed like {@link rowKey}. */
async function recount(): Promise<{ rows: Map<string, Values>; disorder: number; events: number }> {
  const flat = join(dir, 'valid.ndjson');
  const valid = eventLines.flatMap((l, line) => {
    if (malformedId(l) !== null) return [];
    const e = JSON.parse(l) as Record<string, unknown>;
    return [
      JSON.stringify({
        line,
        type: e.type,
        ts: e.ts,
        user_id: e.user_id,
        product_id: e.product_id ?? null,
        price: e.price ?? null,
        quantity: e.quantity ?? null,
      }),
    ];
  });
  writeFileSync(flat, `${valid.join('\n')}\n`);
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  await con.run(`
    CREATE TABLE raw AS SELECT * FROM read_json('${flat}', format = 'newline_delimited', columns = {
      line: 'BIGINT', type: 'VARCHAR', ts: 'VARCHAR', user_id: 'VARCHAR', product_id: 'VARCHAR',
      price: 'DOUBLE', quantity: 'BIGINT' });
    CREATE TABLE e AS SELECT *, epoch_ms(ts::TIMESTAMPTZ) AS t,
      CASE WHEN type = 'purchase' THEN price * quantity ELSE 0 END AS revenue FROM raw;
    -- The products' events: those that name a product, but checkouts.
    CREATE TABLE p AS SELECT * FROM e WHERE product_id IS NOT NULL AND type <> 'checkout';
  `);
  const rows = new Map<string, Values>();
  const read = async (sql: string, key: (r: Record<string, unknown>) => string, names: string[]) => {
    const res = await con.runAndReadAll(sql);
    for (const r of res.getRowObjects()) {
      const values: Values = {};
      for (const n of names) values[n] = r[n] === null ? null : Number(r[n]);
      rows.set(key(r), values);
    }
  };
  // Sessions: a user's events, in time order, split where the pause exceeds the gap (windows
  // [t, t + gap) that touch merge); the window is [first, last + gap).
  await read(
    `WITH o AS (
       SELECT *, coalesce(t - lag(t) OVER (PARTITION BY user_id ORDER BY t) > ${GAP}, true)::INT AS new FROM e
     ), s AS (
       SELECT *, sum(new) OVER (PARTITION BY user_id ORDER BY t ROWS UNBOUNDED PRECEDING) AS sid FROM o
     )
     SELECT user_id, min(t) AS ws, max(t) + ${GAP} AS we,
       count(*) AS session_events,
       count(*) FILTER (WHERE type = 'page_view') AS session_page_views,
       CASE WHEN bool_or(type = 'purchase') THEN 1 ELSE 0 END AS session_converted,
       CASE WHEN bool_or(type = 'add_to_cart') AND NOT bool_or(type = 'purchase') THEN 1 ELSE 0 END AS session_cart_abandoned,
       sum(revenue) AS session_value
     FROM s GROUP BY user_id, sid`,
    (r) => `user_session|${r.user_id}|${Number(r.ws)}|${Number(r.we)}`,
    ['session_events', 'session_page_views', 'session_converted', 'session_cart_abandoned', 'session_value'],
  );
  // Seconds since the user's previous purchase, per event (null before the first).
  await read(
    `SELECT user_id, t, (t - max(CASE WHEN type = 'purchase' THEN t END) OVER (
        PARTITION BY user_id ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) / 1000 AS seconds_since_last_purchase
     FROM e`,
    (r) => `user_since_purchase|${r.user_id}|${Number(r.t)}`,
    ['seconds_since_last_purchase'],
  );
  const productWindows = async (group: string, size: number, suffix: string) => {
    await read(
      `WITH m AS (
         SELECT p.*, (t - t % ${MIN5}) - k * ${MIN5} AS ws FROM p, range(0, ${size / MIN5}) r(k)
       )
       SELECT product_id, ws,
         count(*) FILTER (WHERE type = 'page_view') AS views_${suffix},
         count(*) FILTER (WHERE type = 'add_to_cart')::DOUBLE
           / nullif(count(*) FILTER (WHERE type = 'page_view'), 0) AS add_to_cart_rate_${suffix},
         count(*) FILTER (WHERE type = 'purchase') AS purchases_${suffix},
         sum(revenue) AS revenue_${suffix}
       FROM m GROUP BY product_id, ws`,
      (r) => `${group}|${r.product_id}|${Number(r.ws)}|${Number(r.ws) + size}`,
      group === 'product_5min'
        ? ['views_5min', 'add_to_cart_rate_5min', 'purchases_5min', 'revenue_5min']
        : ['views_1hr', 'add_to_cart_rate_1hr', 'revenue_1hr'],
    );
  };
  await productWindows('product_5min', MIN5, '5min');
  await productWindows('product_1hr', HOUR, '1hr');
  // How far an event arrives behind the greatest time before it (the input's promise: < BOUND).
  const d = await con.runAndReadAll(
    `SELECT max(c - t) AS d FROM (SELECT t, max(t) OVER (ORDER BY line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS c FROM e)`,
  );
  const distinct = await con.runAndReadAll('SELECT count(*) = count(DISTINCT t) AS ok FROM e');
  expect(distinct.getRowObjects()[0]!.ok).toBe(true);
  con.closeSync();
  return { rows, disorder: Number(d.getRowObjects()[0]!.d), events: valid.length };
}

/** A row's identity: group, entity, and its window (start and end) or, per event, its time. */
function rowKey(r: Row): string {
  if (r.window_start === null) return `${r.group}|${r.entity_id}|${Date.parse(r.event_time)}`;
  return `${r.group}|${r.entity_id}|${Date.parse(r.window_start)}|${Date.parse(r.window_end!)}`;
}

/** A row without its write-order details: what the file and Kafka runs must agree on. */
const canon = (l: string) => {
  const { group, entity_id, window_start, window_end, event_time, revision, values } = JSON.parse(
    l,
  ) as Record<string, unknown>;
  return JSON.stringify({ group, entity_id, window_start, window_end, event_time, revision, values });
};

describe('examples/clickstream', () => {
  it('file run: every row equals DuckDB’s recount, and each malformed record is a dead letter with its reason', async () => {
    const want = await recount();
    expect(want.disorder).toBeLessThan(BOUND);
    const s = fileRun.summary;
    expect(s.eventsRead).toBe(eventLines.length);
    expect(s.lateEvents).toBe(0);
    expect(fileRun.late).toEqual([]);

    // Dead letters: exactly the malformed records, each with the reason it was written for.
    const wantReasons: Record<string, number> = {};
    for (const r of Object.values(MALFORMED)) wantReasons[r] = (wantReasons[r] ?? 0) + 1;
    expect(s.deadLetters).toBe(Object.keys(MALFORMED).length);
    expect(s.deadLettersByReason).toEqual(wantReasons);
    expect(want.events + Object.keys(MALFORMED).length).toBe(eventLines.length);
    const dead = fileRun.dead.map((l) => JSON.parse(l) as { line: number; reason: string; raw: string });
    expect(dead).toHaveLength(Object.keys(MALFORMED).length);
    for (const d of dead) {
      const id = malformedId(eventLines[d.line - 1]!);
      expect(id, `dead letter at line ${d.line}`).not.toBeNull();
      expect(d.reason, `${id}`).toBe(MALFORMED[id!]);
    }

    // Rows: one per window (or per event), all first firings, values equal to the recount.
    const rows = fileRun.rows.map((l) => JSON.parse(l) as Row);
    const groups = ['user_session', 'user_since_purchase', 'product_5min', 'product_1hr'];
    expect(new Set(rows.map((r) => r.group))).toEqual(new Set(groups));
    const got = new Map<string, Values>();
    for (const r of rows) {
      expect(r.revision).toBe(0);
      const k = rowKey(r);
      expect(got.has(k), `duplicate row ${k}`).toBe(false);
      got.set(k, r.values);
    }
    for (const g of groups) {
      const keys = (m: Map<string, Values>) => [...m.keys()].filter((k) => k.startsWith(`${g}|`)).sort();
      expect(keys(got), g).toEqual(keys(want.rows));
    }
    for (const [k, v] of want.rows) expect(got.get(k), k).toEqual(v);
    // Per event, the processor's rows: one for each valid event.
    expect(rows.filter((r) => r.group === 'user_since_purchase')).toHaveLength(want.events);

    // The features are not dead columns: some sessions convert, some abandon their cart, and
    // the processor sees repeat buyers.
    const of = (g: string, f: string) =>
      [...want.rows].filter(([k]) => k.startsWith(`${g}|`)).map(([, v]) => v[f] ?? null);
    expect(of('user_session', 'session_converted')).toContain(1);
    expect(of('user_session', 'session_cart_abandoned')).toContain(1);
    expect(of('user_session', 'session_events').some((n) => n! > 5)).toBe(true);
    expect(of('user_since_purchase', 'seconds_since_last_purchase').some((x) => x !== null && x > 0)).toBe(
      true,
    );
    expect(of('product_5min', 'add_to_cart_rate_5min').some((x) => x !== null && x > 0)).toBe(true);
    expect(of('product_1hr', 'revenue_1hr').some((x) => x! > 0)).toBe(true);
  });

  it('Kafka run of the same events (four partitions) gives the same rows and dead letters', async () => {
    const member = startRunner([
      KAFKA_ENTRY,
      'run',
      '--topology',
      TOPOLOGY,
      '--plugin',
      PLUGIN,
      '--kafka',
      broker.bootstrap,
      '--topic',
      TOPIC,
      '--group',
      'clickstream-example',
      '--out',
      join(dir, 'kafka-rows'),
      '--state-dir',
      join(dir, 'kafka-state'),
      '--workers',
      '2',
      '--checkpoint-interval',
      '300',
      '--fetch-max-wait',
      '100',
      '--stop-at-end',
      '--summary-json',
    ]);
    const r = await member.result;
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      eventsRead: number;
      deadLettersByReason: Record<string, number>;
    };
    expect(summary.eventsRead).toBe(eventLines.length);
    expect(summary.deadLettersByReason).toEqual(fileRun.summary.deadLettersByReason);
    const got = folderLines(join(dir, 'kafka-rows')).map(canon).sort();
    const want = fileRun.rows.map(canon).sort();
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
  }, 240_000);

  it('serve --topology FILE --plugin MODULE answers the clickstream groups from the stores the run wrote', async () => {
    const rows = fileRun.rows.map((l) => JSON.parse(l) as Row);
    const latest = (group: string, entity: string) =>
      rows
        .filter((r) => r.group === group && r.entity_id === entity)
        .reduce((a, b) => (Date.parse(b.event_time) > Date.parse(a.event_time) ? b : a));
    const child = spawn(
      process.execPath,
      [
        BIN,
        'serve',
        '--topology',
        TOPOLOGY,
        '--plugin',
        PLUGIN,
        '--port',
        '0',
        '--online',
        redis.url,
        '--offline',
        offlineUrl(schema),
        '--l1-max-bytes',
        '0',
        '--log-level',
        'warn',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    try {
      const base = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          const m = /http:\/\/[0-9.]+:[0-9]+/.exec(out);
          if (m !== null) resolve(m[0]);
        });
        child.on('close', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
      });
      const get = async (path: string) => {
        const res = await fetch(`${base}${path}`);
        const body = (await res.json()) as { features: Values };
        expect(res.status, JSON.stringify(body)).toBe(200);
        return body.features;
      };
      // Latest values (online store): a user's last session and time since purchase, by id and name.
      const user = 'u-007';
      const session = latest('user_session', user);
      const since = latest('user_since_purchase', user);
      expect(
        await get(`/features/user/${user}?features=CS_001,CS_003,session_cart_abandoned,CS_005,CS_006`),
      ).toEqual({
        session_events: session.values.session_events,
        session_converted: session.values.session_converted,
        session_cart_abandoned: session.values.session_cart_abandoned,
        session_value: session.values.session_value,
        seconds_since_last_purchase: since.values.seconds_since_last_purchase,
      });
      // A point-in-time read (offline store): a product's 5-minute window as of just after it closed.
      const window = rows.find((r) => r.group === 'product_5min' && r.values.purchases_5min! > 0)!;
      const at = new Date(Date.parse(window.event_time) + 1_000).toISOString();
      expect(
        await get(
          `/features/product/${window.entity_id}?features=views_5min,revenue_5min&at=${encodeURIComponent(at)}`,
        ),
      ).toEqual({ views_5min: window.values.views_5min, revenue_5min: window.values.revenue_5min });
    } finally {
      child.kill('SIGTERM');
      expect(await exited, stderr).toBe(0);
    }
  }, 120_000);
});
