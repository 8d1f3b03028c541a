/**
 * Test harness: a real Kafka-protocol broker on this machine — librdkafka's mock cluster run as a
 * TCP server (test/kafka/mockbroker, see its README) — started per test file, plus helpers to
 * produce events and to run the Kafka runner as a child process from the build.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompressionTypes, Kafka, logLevel, type Message } from 'kafkajs';
import { pino } from 'pino';
import { TOPOLOGIES } from '../../topology/index.js';
import { generatePerfLines } from '../../src/domains/llm/generate/perf-stream.js';
import { runJob } from '../../src/runtime/coordinator.js';
import { createStoreSinks } from '../../src/stores/sinks.js';
import { afterAll, beforeAll } from 'vitest';
import { ROOT } from '../support.js';
import { runTopology } from '../../src/cli/run-topology.js';
import { featureSetOf } from '../../src/registry/feature-set.js';

/** The standalone Kafka entry in the build (`npm run build` first, as for every CLI test). */
export const KAFKA_ENTRY = join(ROOT, 'bin/featurestream.js');

const BUILD_SCRIPT = process.env.FEATURESTREAM_KAFKA_BUILD ?? join(ROOT, 'test/kafka/mockbroker/build.sh');

let binary: string | null = null;

/** Builds the broker once per process (the script only compiles when the source changed). */
export function brokerBinary(): string {
  binary ??= execFileSync('bash', [BUILD_SCRIPT], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
  return binary;
}

export interface TestBroker {
  /** `127.0.0.1:PORT,…` */
  readonly bootstrap: string;
  readonly brokers: string[];
  /** Sends a control line (`topic NAME PARTS`, `down ID`, `up ID`, …). */
  command(line: string): void;
  /** Sends a control line and resolves, with the broker's answer, once the broker applied it. */
  apply(line: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a broker cluster of `n` brokers with topics `name:partitions` created up front. */
export async function startBroker(n: number, topics: readonly string[]): Promise<TestBroker> {
  const child: ChildProcess = spawn(brokerBinary(), [String(n), ...topics], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const bootstrap = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl).trim());
    });
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}: ${stderr}`)));
  });
  const closed = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    bootstrap,
    brokers: bootstrap.split(','),
    command(line) {
      child.stdin!.write(`${line}\n`);
    },
    apply(line) {
      const seen = stderr.length;
      const ack = `mockbroker: ${line} -> `;
      return new Promise<string>((resolve) => {
        const check = () => {
          const at = stderr.indexOf(ack, seen);
          if (at < 0) return;
          child.stderr!.off('data', check);
          const end = stderr.indexOf('\n', at);
          resolve(stderr.slice(at + ack.length, end < 0 ? undefined : end));
        };
        child.stderr!.on('data', check);
        child.stdin!.write(`${line}\n`);
      });
    },
    async stop() {
      child.stdin!.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await closed;
      clearTimeout(t);
    },
  };
}

/**
 * Starts a cluster of `n` brokers with one topic of `partitions` partitions and produces `lines`
 * to it as the collector writes them ({@link collectorMessage}; a line without an id is keyed
 * `line-<index>`).
 */
export async function startBrokerWithEvents(
  n: number,
  topic: string,
  partitions: number,
  lines: readonly string[],
): Promise<TestBroker> {
  const broker = await startBroker(n, [`${topic}:${partitions}`]);
  await produce(
    broker,
    topic,
    lines.map((l, i) => collectorMessage(l, `line-${i}`)),
  );
  return broker;
}

/**
 * {@link startBrokerWithEvents} for a whole test file: started before its tests (`beforeAll`),
 * stopped after them (`afterAll`). The handle it returns stands for that cluster once it runs.
 *
 * @example
 * const broker = brokerWithEventsForFile(3, 'events', 8, lines);
 * it('…', () => startRunner(kafkaArgs({ broker, … })));
 */
export function brokerWithEventsForFile(
  n: number,
  topic: string,
  partitions: number,
  lines: readonly string[],
): TestBroker {
  let started: TestBroker | null = null;
  beforeAll(async () => {
    started = await startBrokerWithEvents(n, topic, partitions, lines);
  }, 120_000);
  afterAll(async () => {
    await started?.stop();
  });
  const running = (): TestBroker => {
    if (started === null) throw new Error('the test broker is not running (it starts in beforeAll)');
    return started;
  };
  return {
    get bootstrap() {
      return running().bootstrap;
    },
    get brokers() {
      return running().brokers;
    },
    command: (line) => running().command(line),
    apply: (line) => running().apply(line),
    stop: () => running().stop(),
  };
}

/** A kafkajs client for tests (logs off). */
export function testKafka(broker: TestBroker): Kafka {
  return new Kafka({ brokers: broker.brokers, clientId: 'fs-test', logLevel: logLevel.NOTHING });
}

/** The collector's message for one event line: key = event id, headers event_type, event_id, timestamp. */
export function collectorMessage(line: string, fallbackKey: string): Message {
  let id: string | null = null;
  let type = '';
  let ts = '';
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    if (typeof o.id === 'string') id = o.id;
    if (typeof o.type === 'string') type = o.type;
    if (typeof o.timestamp === 'string') ts = o.timestamp;
  } catch {
    // a bad line: keyed by its position
  }
  return {
    key: id ?? fallbackKey,
    value: line,
    headers: { event_type: type, event_id: id ?? '', timestamp: ts },
  };
}

/** Produces messages in batches (gzip, as the collector does); returns how many. */
export async function produce(
  broker: TestBroker,
  topic: string,
  messages: readonly Message[],
  batch = 500,
): Promise<number> {
  const kafka = testKafka(broker);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += batch) {
      await producer.send({
        topic,
        compression: CompressionTypes.GZIP,
        acks: -1,
        messages: messages.slice(i, i + batch),
      });
    }
  } finally {
    await producer.disconnect();
  }
  return messages.length;
}

/** Lines of every `*.ndjson` file of a folder (per-shard outputs), in no particular order. */
export function folderLines(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.ndjson')) continue;
    for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) if (l.length > 0) out.push(l);
  }
  return out;
}

/** Arguments of a Kafka run for the standalone entry. */
export function kafkaArgs(opts: {
  broker: TestBroker;
  topic: string;
  group: string;
  dir: string;
  tag: string;
  extra?: readonly string[];
}): string[] {
  const { dir, tag } = opts;
  return [
    KAFKA_ENTRY,
    'run',
    '--topology',
    'llm-features',
    '--kafka',
    opts.broker.bootstrap,
    '--topic',
    opts.topic,
    '--group',
    opts.group,
    '--out',
    join(dir, 'rows'),
    '--dead-letters',
    join(dir, 'dl'),
    '--late-events',
    join(dir, 'late'),
    '--state-dir',
    join(dir, `state-${tag}`),
    '--checkpoint-interval',
    '300',
    '--fetch-max-wait',
    '100',
    // The test broker waits (session timeout − 1 s) for members to rejoin at each rebalance.
    '--session-timeout',
    '5000',
    '--heartbeat-interval',
    '500',
    // The test broker keeps ~5 MB per partition: keep the repartition backlog well below.
    '--max-repartition-lag',
    '16',
    '--stop-at-end',
    '--summary-json',
    '--log-level',
    'info',
    ...(opts.extra ?? []),
  ];
}

/** A child process of the Kafka entry, with its output collected. */
export interface RunnerChild {
  readonly child: ChildProcess;
  readonly result: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>;
  /** Resolves with the first stderr log line (JSON) that satisfies `pred`, logged before or after the call. */
  waitForLog(pred: (entry: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  stderr(): string;
}

/** Starts `node ARGS` (args from {@link kafkaArgs}). */
export function startRunner(args: readonly string[]): RunnerChild {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{
    pred: (e: Record<string, unknown>) => boolean;
    resolve: (e: Record<string, unknown>) => void;
  }> = [];
  let partial = '';
  const history: Array<Record<string, unknown>> = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    partial += d;
    let nl = partial.indexOf('\n');
    while (nl >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      nl = partial.indexOf('\n');
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      history.push(entry);
      for (const w of [...waiters]) {
        if (w.pred(entry)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(entry);
        }
      }
    }
  });
  const result = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return {
    child,
    result,
    waitForLog: (pred) => {
      const past = history.find(pred);
      if (past !== undefined) return Promise.resolve(past);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    stderr: () => stderr,
  };
}

/** The JSON summary a runner printed last. */
export function runnerSummary(stdout: string): Record<string, unknown> & {
  eventsRead: number;
  rowsWritten: number;
  restoredShards: number;
  stoppedBy: string;
  deadLettersByReason: Record<string, number>;
} {
  const line = stdout.trim().split('\n').at(-1);
  if (line === undefined || line === '') throw new Error('no summary on stdout');
  return JSON.parse(line);
}

/**
 * A generated `performance_metrics` stream for comparisons: no events late beyond the windows'
 * bounds (so a file run's rows do not depend on the order records interleave across
 * partitions), some malformed lines of every reason but `oversize` (a record over 1 MiB does not
 * fit a Kafka message), as text lines.
 */
export function comparisonLines(events: number, seed: number): string[] {
  return [
    ...generatePerfLines({
      events,
      seed,
      models: 6,
      lateFraction: 0,
      disorderMs: 60_000,
      badFraction: 0.002,
    }),
  ]
    .filter((l) => l.kind !== 'oversize')
    .map((l) => l.line);
}

/** The reference: `runJob` (the file run) over the same lines; returns its rows and dead letters. */
export async function fileRun(
  dir: string,
  lines: readonly string[],
  /** An `--offline` store URL the reference run also writes to (optional). */
  offline?: string,
): Promise<{ rows: string[]; deadLetters: Array<{ reason: string; raw: string }> }> {
  const input = join(dir, 'reference-input.ndjson');
  writeFileSync(input, `${lines.join('\n')}\n`);
  const out = join(dir, 'reference-rows.ndjson');
  const dl = join(dir, 'reference-dl.ndjson');
  const logger = pino({ level: 'silent' });
  const sinks =
    offline === undefined
      ? []
      : await createStoreSinks({ featureSet: featureSetOf(), offline, topologyName: 'llm-features', logger });
  await runJob({
    sinks,
    // As `featurestream run` runs it (the derived version follows the default embedder).
    topology: await runTopology(TOPOLOGIES.get('llm-features')!(), {}),
    input,
    out,
    deadLetters: dl,
    lateEvents: null,
    stateDir: null,
    workers: 1,
    shards: 4,
    checkpointIntervalMs: 60_000,
    logger,
  });
  const read = (p: string) =>
    readFileSync(p, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
  return {
    rows: read(out),
    deadLetters: read(dl).map((l) => {
      const o = JSON.parse(l) as { reason: string; raw: string };
      return { reason: o.reason, raw: o.raw };
    }),
  };
}

interface ParsedRow {
  group: string;
  entity_type: string;
  entity_id: string;
  version: number;
  window_start: string | null;
  window_end: string | null;
  revision: number;
  values: Record<string, number | null>;
  [k: string]: unknown;
}

/** Lines in one multiset and not the other (rows without a window repeat their identity: compare whole lines). */
export function multisetDifferences(actual: readonly string[], expected: readonly string[]): string[] {
  const count = new Map<string, number>();
  for (const l of actual) count.set(l, (count.get(l) ?? 0) + 1);
  for (const l of expected) count.set(l, (count.get(l) ?? 0) - 1);
  const out: string[] = [];
  for (const [l, n] of count) if (n !== 0) out.push(`${n > 0 ? 'extra' : 'missing'} ×${Math.abs(n)}: ${l}`);
  return out.sort();
}

/** A row's identity: what a sink keys it by, plus its revision. */
export function rowKey(r: ParsedRow): string {
  return [r.group, r.entity_type, r.entity_id, r.version, r.window_start, r.window_end, r.revision].join('|');
}

/**
 * Compares feature rows of a Kafka run with a file run's: the same identities, none twice, every
 * field and every value exactly equal (sums are exact and order-independent, so records of
 * different source partitions interleaving in an order a file does not have change nothing).
 * Returns a list of differences (empty when equal).
 */
export function rowDifferences(actual: readonly string[], expected: readonly string[]): string[] {
  const diffs: string[] = [];
  const index = (lines: readonly string[], what: string) => {
    const m = new Map<string, ParsedRow>();
    for (const l of lines) {
      const r = JSON.parse(l) as ParsedRow;
      const k = rowKey(r);
      if (m.has(k)) diffs.push(`${what}: row twice: ${k}`);
      m.set(k, r);
    }
    return m;
  };
  const a = index(actual, 'kafka run');
  const e = index(expected, 'file run');
  for (const k of e.keys()) if (!a.has(k)) diffs.push(`missing: ${k}`);
  for (const k of a.keys()) if (!e.has(k)) diffs.push(`extra: ${k}`);
  for (const [k, ra] of a) {
    const re = e.get(k);
    if (re === undefined) continue;
    const { values: va, ...restA } = ra;
    const { values: ve, ...restE } = re;
    if (JSON.stringify(restA) !== JSON.stringify(restE)) diffs.push(`fields differ: ${k}`);
    const names = new Set([...Object.keys(va), ...Object.keys(ve)]);
    for (const n of names) {
      const x = va[n];
      const y = ve[n];
      if (x === y) continue;
      diffs.push(`${k} ${n}: ${x} vs ${y}`);
    }
  }
  return diffs;
}

/**
 * Waits for `p` at most `ms`; on timeout kills the runners and fails with what they logged last
 * (the logs are also left in `dir` as `<tag>.stderr.log`).
 */
export async function within<T>(
  p: Promise<T>,
  ms: number,
  what: string,
  runners: Record<string, RunnerChild>,
  dir: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const tails: string[] = [];
      for (const [tag, r] of Object.entries(runners)) {
        writeFileSync(join(dir, `${tag}.stderr.log`), r.stderr());
        tails.push(`--- ${tag} ---\n${r.stderr().split('\n').slice(-15).join('\n')}`);
        r.child.kill('SIGKILL');
      }
      reject(new Error(`timed out after ${ms} ms waiting for ${what} (logs in ${dir})\n${tails.join('\n')}`));
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
