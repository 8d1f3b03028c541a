/**
 * `npm run bench:freshness` — event-to-online-store freshness under a steady Kafka load: a
 * producer writes the generated LLM stream (all 8 event types) at a steady `RATE` events/s for
 * `DURATION` seconds, each event stamped with the wall-clock time it is produced; a Kafka member
 * (`runKafkaJob`, topology `llm-features`, the one the README runs) reads it live and writes its
 * rows to the online store (Redis, as `run --online redis://…`). Each row is timed when its
 * online-store write returns (it can be read from then on):
 *
 * - window rows: visible − the window's end;
 * - other rows: visible − their event time. Rows whose event time falls in the first minute are
 *   left out and counted by group: in `llm-features` those are the session- and model-keyed
 *   groups (`request`, `context`, `derived`, `model_static`), whose rows carry their session's
 *   or model's first event time, not a time to measure freshness from.
 *
 * Either way the figure includes the out-of-orderness bound of the row's group (a row fires once
 * the watermark, the greatest event time less that bound, passes it: 2 or 10 minutes in
 * `llm-features`), so the table also gives it less that bound: the engine's own delay. The
 * baseline is the bound itself (what an engine with no delay of its own would show). Also reported:
 * the member's peak RSS (sampled). **Needs Redis** (`REDIS_URL`, default redis://127.0.0.1:6379)
 * and librdkafka-dev for the test broker.
 *
 * Rows fire once their window (5 minutes and more) or session (30 minutes' gap) has ended and the
 * watermark passed it, so a run shorter than that has no figures: the default is 11 minutes,
 * which sees the 5-minute windows close once or twice.
 *
 *   RATE=1000 DURATION=660 PARTITIONS=4 MODELS=32 npm run bench:freshness
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CompressionTypes, Kafka, logLevel, type Message } from 'kafkajs';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { FeatureRow } from '../operators/operator.js';
import { TOPOLOGIES } from '../topology/index.js';
import { registerDomains } from '../src/cli/domains.js';
import { generateLlmEvents } from '../src/domains/llm/generate/llm-stream.js';
import { featureSet } from '../src/registry/feature-set.js';
import type { RowSink } from '../src/runtime/sink.js';
import { runKafkaJob } from '../src/runtime/kafka/job.js';
import { createStoreSinks } from '../src/stores/sinks.js';
import { startBroker } from './broker.js';
import { sampleRss } from './peak-rss.js';

const RATE = Number(process.env.RATE ?? 1000);
const DURATION = Number(process.env.DURATION ?? 660);
const PARTITIONS = Number(process.env.PARTITIONS ?? 4);
/** Models in the stream: each closes its own windows, so more models give more window rows per boundary. */
const MODELS = Number(process.env.MODELS ?? 32);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOPIC = 'bench-freshness';
for (const [name, v] of [
  ['RATE', RATE],
  ['DURATION', DURATION],
  ['PARTITIONS', PARTITIONS],
  ['MODELS', MODELS],
] as const)
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);

/** Per group, milliseconds from "could be known" to "readable online" of each row. */
interface Samples {
  /** Rows written, the first minute's included. */
  all: number;
  /** Per group, rows left out: event time before the first minute's end. */
  readonly early: Map<string, number>;
  readonly byGroup: Map<string, number[]>;
}

/** Times each row when the online store's write of it returns (wraps the online sink). */
class TimingSink implements RowSink {
  readonly name: string;
  constructor(
    private readonly inner: RowSink,
    private readonly samples: Samples,
    private readonly from: number,
  ) {
    this.name = inner.name;
  }

  async write(rows: readonly FeatureRow[]): Promise<void> {
    await this.inner.write(rows);
    const now = Date.now();
    this.samples.all += rows.length;
    for (const r of rows) {
      // Rows of events produced before the steady state (the first minute) are left out.
      if (r.eventTime < this.from) {
        this.samples.early.set(r.group, (this.samples.early.get(r.group) ?? 0) + 1);
        continue;
      }
      const ms = r.windowEnd === null ? now - r.eventTime : now - r.windowEnd;
      const xs = this.samples.byGroup.get(r.group);
      if (xs === undefined) this.samples.byGroup.set(r.group, [ms]);
      else xs.push(ms);
    }
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Produces the LLM stream at `RATE` events/s until `until`, each event stamped with now. */
async function produceSteadily(kafka: Kafka, until: number): Promise<number> {
  const producer = kafka.producer();
  await producer.connect();
  const lines = generateLlmEvents({
    events: RATE * DURATION * 2,
    seed: 11,
    models: MODELS,
    badFraction: 0,
    lateFraction: 0,
  });
  const tick = 50;
  const perTick = Math.max(1, Math.round((RATE * tick) / 1000));
  let n = 0;
  let next = Date.now();
  while (Date.now() < until) {
    const messages: Message[] = [];
    const ts = new Date().toISOString();
    for (let i = 0; i < perTick; i++) {
      const r = lines.next();
      if (r.done === true) break;
      const e = JSON.parse(r.value) as { id: string; timestamp: string };
      e.timestamp = ts;
      messages.push({ key: e.id, value: JSON.stringify(e) });
    }
    await producer.send({ topic: TOPIC, compression: CompressionTypes.GZIP, acks: -1, messages });
    n += messages.length;
    next += tick;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await producer.disconnect();
  return n;
}

const pct = (xs: number[], q: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const sec = (ms: number) => (Number.isNaN(ms) ? '—' : `${(ms / 1000).toFixed(2)} s`);

/** Runs {@link produceSteadily} in a child process (`--producer BROKERS UNTIL`); the events it produced. */
function produceInChild(brokers: readonly string[], until: number): Promise<number> {
  const child = fork(fileURLToPath(import.meta.url), ['--producer', brokers.join(','), String(until)], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      code === 0 ? resolve(Number(out.trim())) : reject(new Error(`the producer exited with ${code}`)),
    );
  });
}

/** Runs the benchmark and prints the table. */
export async function main(): Promise<void> {
  registerDomains();
  const make = TOPOLOGIES.get('llm-features');
  if (make === undefined) throw new Error('the llm-features topology is not registered');
  const topology = make();
  // Each group's out-of-orderness bound (the operator that writes it).
  const bounds = new Map<string, number>();
  for (const n of topology.nodes) {
    const { group, outOfOrderness } = n as { group?: string; outOfOrderness?: number };
    if (group !== undefined && outOfOrderness !== undefined) bounds.set(group, outOfOrderness);
  }
  const broker = await startBroker(TOPIC, PARTITIONS);
  const dir = mkdtempSync(join(tmpdir(), 'fs-bench-freshness-'));
  const keyPrefix = `bench-freshness-${randomUUID().slice(0, 8)}:`;
  const samples: Samples = { all: 0, early: new Map(), byGroup: new Map() };
  const abort = new AbortController();
  const rss = sampleRss(100);
  try {
    const logger = pino({ level: 'warn' });
    const start = Date.now();
    const sinks = await createStoreSinks({
      online: REDIS_URL,
      topologyName: topology.name,
      logger,
      featureSet: featureSet(topology),
      keyPrefix,
    });
    const timed = sinks.map((s) => new TimingSink(s, samples, start + 60_000));
    const member = runKafkaJob({
      topology,
      brokers: broker.brokers,
      topic: TOPIC,
      group: `bench-freshness-${Date.now()}`,
      stateDir: join(dir, 'state'),
      out: null,
      deadLetters: null,
      lateEvents: null,
      rowSinks: timed,
      checkpointIntervalMs: 5000,
      stopAtEnd: false,
      maxWaitTimeMs: 100,
      maxRepartitionLag: 32,
      logger,
      signal: abort.signal,
    });
    // The producer runs in its own process: the member's process holds the member only.
    const produced = await produceInChild(broker.brokers, start + DURATION * 1000);
    // Let the member take in what was produced last, then stop it (a graceful stop, as SIGTERM).
    await new Promise((r) => setTimeout(r, 3000));
    abort.abort();
    const summary = await member;
    const load = loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
    const rows = [...samples.byGroup].sort(([a], [b]) => a.localeCompare(b));
    const row = ([group, xs]: [string, number[]]) => {
      const bound = bounds.get(group) ?? 0;
      const of = (q: number) => pct(xs, q);
      return `| ${group} | ${xs.length.toLocaleString('en-US')} | ${sec(bound)} | ${sec(of(0.5))} | ${sec(of(0.99))} | ${sec(of(0.5) - bound)} | ${sec(of(0.99) - bound)} |`;
    };
    process.stdout.write(
      [
        '',
        `${produced.toLocaleString('en-US')} events of ${MODELS} models produced at ${RATE}/s for ${DURATION} s over ${PARTITIONS} partitions (all 8 types, each stamped when produced); the member read ${summary.eventsRead.toLocaleString('en-US')} and wrote ${samples.all.toLocaleString('en-US')} rows online (${summary.rowsWritten.toLocaleString('en-US')} counted)`,
        `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load average after ${load}`,
        "freshness: window rows readable − window end; others readable − event time. The baseline is the group's out-of-orderness bound: a row cannot be readable sooner",
        '',
        '| group (rows of events after the first minute) | rows | bound (baseline) | p50 | p99 | p50 less the bound | p99 less the bound |',
        '|---|---|---|---|---|---|---|',
        ...(rows.length === 0
          ? ['| (no rows yet: run longer than the windows and their bound) | 0 | | | | | |']
          : rows.map(row)),
        '',
        `rows left out (event time in the first minute, or not the time an event was produced): ${[...samples.early].map(([g, n]) => `${g} ${n.toLocaleString('en-US')}`).join(', ') || 'none'}`,
        `peak RSS of the member's process (sampled every 100 ms; the producer runs in its own): ${Math.round(rss.peakMb())} MB`,
        '',
      ].join('\n'),
    );
  } finally {
    rss.stop();
    abort.abort();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${keyPrefix}*`);
    for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
    await broker.stop();
  }
}

if (process.argv[2] === '--producer') {
  const kafka = new Kafka({
    brokers: process.argv[3]!.split(','),
    clientId: 'fs-bench-freshness',
    logLevel: logLevel.NOTHING,
  });
  process.stdout.write(`${await produceSteadily(kafka, Number(process.argv[4]))}\n`);
  process.exit(0);
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
