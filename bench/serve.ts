/**
 * `npm run bench:serve` — throughput and latency of `featurestream serve` under autocannon, each
 * scenario beside a bare `node:http` server returning the same JSON body, measured in the same
 * run on the same machine:
 *
 *   (a) L1 hits: GET of one model's 9 `perf_5min` features, served from the in-process cache;
 *   (b) L2 reads: the same GET on a server with L1 disabled, so every request reads Redis;
 *   (c) POST /features/batch of 100 entities (L1 hits).
 *
 * The featurestream servers run in one child process, the bare server in another (each with its
 * own heap and GC), autocannon in this one; only one server is loaded at a time.
 * Client latency is taken per response (sub-millisecond, from autocannon's `response` events);
 * server-side latency from the `feature_serving_latency_ms` histogram (interpolated within its
 * buckets, as Prometheus' `histogram_quantile` does).
 *
 * Each scenario alternates the two servers for ROUNDS rounds and reports the median round of
 * each, so that load from other processes falls on both alike; the ratio is the median of the
 * per-round ratios (each featurestream round against the bare round just before it).
 *
 *   DURATION=5 ROUNDS=3 WARMUP=2 CONNECTIONS=32 REDIS_URL=redis://127.0.0.1:6379 npm run bench:serve
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import type { FeatureRow } from '../operators/operator.js';
import { registerDomains } from '../src/cli/domains.js';
import { featuresOfGroup } from '../src/domains/llm/features/catalog.js';
import { setDefaultTopology } from '../src/registry/feature-set.js';
import { createServer } from '../src/serve/server.js';
import { RedisOnlineStore } from '../src/stores/online-redis.js';
import { featureSetOf } from '../src/registry/feature-set.js';

const DURATION = Number(process.env.DURATION ?? 5);
const WARMUP = Number(process.env.WARMUP ?? 2);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const ENTITIES = 100;
/** Which scenarios to run (letters of the table below). */
const SCENARIOS = process.env.SCENARIOS ?? 'abc';
const L1_HIT = '(a) L1 hit, GET 9 features';
const L2_READ = '(b) L2 read (L1 off), GET 9 features';
const BATCH = '(c) POST batch of 100 (L1 hits)';

/** The run with the median req/s. */
function median(runs: readonly BenchRun[]): BenchRun {
  const sorted = [...runs].sort((a, b) => a.reqPerSec - b.reqPerSec);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** One measured run. */
export interface BenchRun {
  readonly reqPerSec: number;
  /** Client-side latency, ms. */
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly non2xx: number;
}

/** One scenario: featurestream beside the bare server. */
export interface ScenarioResult {
  readonly name: string;
  readonly bare: BenchRun;
  readonly featurestream: BenchRun;
  /** featurestream req/s ÷ bare req/s: the median over the rounds of the adjacent pair's ratio. */
  readonly ratio: number;
  /** Each round's ratio, in order. */
  readonly ratios: readonly number[];
  /** Server-side latency from the histogram, ms. */
  readonly serverP50: number;
  readonly serverP99: number;
  /**
   * The bare server's latency measured in it the same way (request handed over → response
   * written; exact, not from buckets), ms: what the machine allows under the same load.
   */
  readonly bareServerP50: number;
  readonly bareServerP99: number;
}

// --- child: the servers ----------------------------------------------------------------------

/** The featurestream servers (with and without L1), alone in their process. */
async function childFeaturestream(): Promise<void> {
  // As the serve command does: the shipped domains, and `llm-features` as the served feature set.
  registerDomains();
  setDefaultTopology('llm-features');
  const online = new RedisOnlineStore({ connection: REDIS_URL });
  const withL1 = await createServer({
    featureSet: featureSetOf(),
    online,
    offline: null,
    redisUrl: REDIS_URL,
    l1: { maxBytes: 64 * 1024 * 1024, ttlMs: 60_000 },
    logger: false,
  });
  const withoutL1 = await createServer({
    featureSet: featureSetOf(),
    online,
    offline: null,
    redisUrl: null,
    l1: { maxBytes: 0, ttlMs: 0 },
    logger: false,
  });
  const l1 = await withL1.listen({ port: 0, host: '127.0.0.1' });
  const l2 = await withoutL1.listen({ port: 0, host: '127.0.0.1' });
  process.on('message', (msg: { kind: string }) => {
    if (msg.kind === 'stop') {
      void Promise.all([withL1.close(), withoutL1.close()])
        .then(() => online.close())
        .then(() => process.exit(0));
    }
  });
  process.send!({ kind: 'ready', l1Port: Number(new URL(l1).port), l2Port: Number(new URL(l2).port) });
}

// --- parent: seeding, load, report --------------------------------------------------------------

function waitFor<T extends { kind: string }>(proc: ChildProcess, kind: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`bench server exited with ${code}`));
    const onMsg = (m: T) => {
      if (m.kind !== kind) return;
      proc.off('message', onMsg);
      proc.off('exit', onExit);
      resolve(m);
    };
    proc.on('message', onMsg);
    proc.once('exit', onExit);
  });
}

interface Target {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly body?: string;
}

async function load(target: Target, seconds: number): Promise<BenchRun> {
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        method: target.method,
        connections: CONNECTIONS,
        duration: seconds,
        ...(target.body === undefined
          ? {}
          : { body: target.body, headers: { 'content-type': 'application/json' } }),
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
      latencies.push(ms);
    });
  });
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? NaN;
  return {
    reqPerSec: result.requests.total / (result.duration || seconds),
    p50: q(0.5),
    p99: q(0.99),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** Cumulative bucket counts of `feature_serving_latency_ms{route}` from a /metrics text. */
async function buckets(base: string, route: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<number, number>();
  const re = new RegExp(`^feature_serving_latency_ms_bucket\\{le="([^"]+)",route="${route}"\\} (\\d+)`);
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (m !== null) out.set(m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2]));
  }
  return out;
}

/** `histogram_quantile` over the difference of two bucket snapshots. */
function quantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const les = [...after.keys()].sort((a, b) => a - b);
  const counts = les.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  for (let i = 0; i < les.length; i++) {
    if (counts[i]! >= rank) {
      const hi = les[i]!;
      const lo = i === 0 ? 0 : les[i - 1]!;
      const below = i === 0 ? 0 : counts[i - 1]!;
      if (hi === Number.POSITIVE_INFINITY) return lo;
      return lo + ((hi - lo) * (rank - below)) / (counts[i]! - below);
    }
  }
  return Number.NaN;
}

async function scenario(
  /** The bare server's process (takes the body to answer with, reports its latency). */
  proc: ChildProcess,
  name: string,
  fsBase: string,
  bareBase: string,
  path: string,
  route: string,
  body?: string,
): Promise<ScenarioResult> {
  const method = body === undefined ? 'GET' : 'POST';
  const probe = await fetch(`${fsBase}${path}`, {
    method,
    ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
  });
  const json = await probe.text();
  if (probe.status !== 200) throw new Error(`${name}: probe answered ${probe.status}: ${json}`);
  proc.send({ kind: 'body', body: json });
  await waitFor(proc, 'body-set');
  const fs: Target = { url: `${fsBase}${path}`, method, ...(body === undefined ? {} : { body }) };
  const bare: Target = { url: `${bareBase}${path}`, method, ...(body === undefined ? {} : { body }) };
  await load(fs, WARMUP);
  await load(bare, WARMUP);
  // Alternate the two servers, so that load from other processes on the machine falls on both
  // alike; report the median round of each.
  const bareRuns: BenchRun[] = [];
  const fsRuns: BenchRun[] = [];
  const before = await buckets(fsBase, route);
  proc.send({ kind: 'bare-reset' });
  await waitFor(proc, 'bare-reset');
  for (let i = 0; i < ROUNDS; i++) {
    bareRuns.push(await load(bare, DURATION));
    fsRuns.push(await load(fs, DURATION));
  }
  const after = await buckets(fsBase, route);
  proc.send({ kind: 'bare-latency' });
  const bareServer = await waitFor<{ kind: string; p50: number; p99: number }>(proc, 'bare-latency');
  const bareRun = median(bareRuns);
  const fsRun = median(fsRuns);
  return {
    name,
    bare: bareRun,
    featurestream: fsRun,
    ratio: median(fsRuns.map((f, i) => ({ ...f, reqPerSec: f.reqPerSec / bareRuns[i]!.reqPerSec })))
      .reqPerSec,
    ratios: fsRuns.map((f, i) => f.reqPerSec / bareRuns[i]!.reqPerSec),
    serverP50: quantile(before, after, 0.5),
    serverP99: quantile(before, after, 0.99),
    bareServerP50: bareServer.p50,
    bareServerP99: bareServer.p99,
  };
}

async function seed(run: string): Promise<{ ids: string[]; store: RedisOnlineStore }> {
  const store = new RedisOnlineStore({ connection: REDIS_URL });
  const ids = Array.from({ length: ENTITIES }, (_, i) => `bench-serve-${run}-model-${i}`);
  const windowEnd = Math.floor(Date.now() / 300_000) * 300_000;
  const rows: FeatureRow[] = [];
  for (const [i, id] of ids.entries()) {
    for (const group of ['perf_5min', 'perf_1hr'] as const) {
      const values: Record<string, number> = {};
      for (const f of featuresOfGroup(group))
        for (const v of f.valueNames) values[v] = 100 + i + v.length / 7;
      rows.push({
        group,
        entityType: 'model',
        entityId: id,
        version: 1,
        windowStart: windowEnd - 300_000,
        windowEnd,
        eventTime: windowEnd - 1,
        revision: 0,
        values,
      });
    }
  }
  await store.writeRows(rows);
  return { ids, store };
}

const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

function print(results: readonly ScenarioResult[]): void {
  const lines = [
    '',
    `featurestream serve — autocannon, ${CONNECTIONS} connections; per scenario ${ROUNDS} alternating rounds of ${DURATION} s`,
    `per server (after ${WARMUP} s warm-up), median round shown, "vs bare" the median per-round ratio;`,
    'server-side latency over all rounds of each server (featurestream: its feature_serving_latency_ms',
    'histogram; bare: the same span timed in its handler)',
    '',
    '| scenario | server | req/s | p50 ms | p99 ms | vs bare | server-side p50 / p99 ms |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const row = (server: string, b: BenchRun, extra: string, ratio: string) =>
      `| ${r.name} | ${server} | ${fmt(b.reqPerSec)} | ${fmt(b.p50, 3)} | ${fmt(b.p99, 3)} | ${ratio} | ${extra} |`;
    lines.push(
      row('bare node:http', r.bare, `${fmt(r.bareServerP50, 3)} / ${fmt(r.bareServerP99, 3)}`, '1.00×'),
    );
    lines.push(
      row(
        'featurestream',
        r.featurestream,
        `${fmt(r.serverP50, 3)} / ${fmt(r.serverP99, 3)}`,
        `${fmt(r.ratio, 2)}×`,
      ),
    );
  }
  lines.push(
    '',
    'per-round ratios (featurestream ÷ bare, round by round):',
    ...results.map((r) => `  ${r.name}: ${r.ratios.map((x) => `${fmt(x, 2)}×`).join(' ')}`),
  );
  const bad = results.flatMap((r) =>
    [r.bare, r.featurestream].filter((b) => b.errors > 0 || b.non2xx > 0).map(() => r.name),
  );
  if (bad.length > 0) lines.push('', `errors or non-2xx responses in: ${[...new Set(bad)].join(', ')}`);
  const l1 = results.find((r) => r.name === L1_HIT);
  const l2 = results.find((r) => r.name === L2_READ);
  const batch = results.find((r) => r.name === BATCH);
  const goal = (label: string, figure: string, met: boolean) =>
    lines.push(`  ${label.padEnd(36)} ${figure} ${met ? 'met' : 'NOT met'}`);
  lines.push('', 'goals (issues 4, 14 and 30 / stores-and-serving.md):');
  if (l1 !== undefined) {
    goal('L1-hit throughput ≥ 0.90× bare:', `${fmt(l1.ratio, 2)}×`, l1.ratio >= 0.9);
    goal('L1-hit p99 server-side < 1 ms:', `${fmt(l1.serverP99, 3)} ms`, l1.serverP99 < 1);
  }
  if (l2 !== undefined) goal('L2 p99 server-side < 5 ms:', `${fmt(l2.serverP99, 3)} ms`, l2.serverP99 < 5);
  if (batch !== undefined) {
    goal('batch-100 p99 server-side < 2 ms:', `${fmt(batch.serverP99, 3)} ms`, batch.serverP99 < 2);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * Runs the three scenarios and prints a table (markdown) with the ratios and the goals.
 *
 * @example
 * const results = await runServeBench();
 * results[0].ratio; // L1-hit throughput relative to the bare server
 */
export async function runServeBench(): Promise<ScenarioResult[]> {
  const run = randomUUID().slice(0, 8);
  const { ids, store } = await seed(run);
  // Each server reports its peak RSS when it exits (peak-rss.ts).
  const rssDir = mkdtempSync(join(tmpdir(), 'fs-bench-serve-rss-'));
  const start = (file: string, args: string[], rssName: string) =>
    fork(file, args, {
      env: { ...process.env, REDIS_URL, FEATURESTREAM_BENCH_RSS_FILE: join(rssDir, rssName) },
      execArgv: [...process.execArgv, '--import', fileURLToPath(new URL('./peak-rss.js', import.meta.url))],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  const fsProc = start(fileURLToPath(import.meta.url), ['--child=featurestream'], 'featurestream');
  // The bare server's own module: its process loads node:http and nothing else.
  const bareProc = start(fileURLToPath(new URL('./bare-server.js', import.meta.url)), [], 'bare');
  try {
    const fsReady = await waitFor<{ kind: string; l1Port: number; l2Port: number }>(fsProc, 'ready');
    const bareReady = await waitFor<{ kind: string; barePort: number }>(bareProc, 'ready');
    const l1Base = `http://127.0.0.1:${fsReady.l1Port}`;
    const l2Base = `http://127.0.0.1:${fsReady.l2Port}`;
    const bareBase = `http://127.0.0.1:${bareReady.barePort}`;
    const features = featuresOfGroup('perf_5min')
      .map((f) => f.id)
      .join(',');
    const path = `/features/model/${ids[0]}?features=${features}`;
    const batch = JSON.stringify({
      requests: ids.map((id) => ({ entity_type: 'model', entity_id: id, features })),
    });
    const results: ScenarioResult[] = [];
    if (SCENARIOS.includes('a')) {
      results.push(await scenario(bareProc, L1_HIT, l1Base, bareBase, path, 'features'));
    }
    if (SCENARIOS.includes('b')) {
      results.push(await scenario(bareProc, L2_READ, l2Base, bareBase, path, 'features'));
    }
    if (SCENARIOS.includes('c')) {
      results.push(await scenario(bareProc, BATCH, l1Base, bareBase, '/features/batch', 'batch', batch));
    }
    print(results);
    return results;
  } finally {
    await Promise.all([stop(fsProc), stop(bareProc)]);
    const mb = (name: string) => {
      const f = join(rssDir, name);
      return existsSync(f) ? `${Math.round(Number(readFileSync(f, 'utf8')) / 1024)} MB` : 'not reported';
    };
    console.log(`peak RSS: featurestream server ${mb('featurestream')}, bare server ${mb('bare')}`);
    rmSync(rssDir, { recursive: true, force: true });
    const keys = ids.flatMap((id) => [`feature:model:${id}:perf_5min:v1`, `feature:model:${id}:perf_1hr:v1`]);
    const redis = new Redis(REDIS_URL);
    await redis.del(...keys);
    redis.disconnect();
    await store.close();
  }
}

/** Asks a server process to stop; kills it after 5 s. */
async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.send({ kind: 'stop' });
  await new Promise((resolve) => {
    const t = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve(undefined);
    }, 5_000);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve(undefined);
    });
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--child=featurestream')) {
    await childFeaturestream();
  } else {
    await runServeBench();
  }
}
