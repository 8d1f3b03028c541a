import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import kafkajs, { CompressionTypes, Kafka, logLevel, type Message } from 'kafkajs';
import { gzipCodec } from '../src/connectors/kafka/gzip-codec.js';
import { selectRecordDecoder, useFastRecordDecoder } from '../src/connectors/kafka/record-decoder.js';
import { pino } from 'pino';
import { TOPOLOGIES } from '../topology/index.js';
import { generatePerfLines } from '../src/domains/llm/generate/perf-stream.js';
import { runKafkaJob } from '../src/runtime/kafka/job.js';
import { startBroker } from './broker.js';
import { sampleRss } from './peak-rss.js';
import { registerDomains } from '../src/cli/domains.js';

const EVENTS = Number(process.env.EVENTS ?? 150_000);
const RUNS = Number(process.env.RUNS ?? 3);
const TOPOLOGY = process.env.TOPOLOGY ?? 'llm-features';
const PARTITIONS = Number(process.env.PARTITIONS ?? 8);
if (!Number.isInteger(EVENTS) || EVENTS <= 0)
  throw new Error(`EVENTS must be a positive integer, got ${process.env.EVENTS}`);
if (!Number.isInteger(PARTITIONS) || PARTITIONS <= 0)
  throw new Error(`PARTITIONS must be a positive integer, got ${process.env.PARTITIONS}`);
if (EVENTS / PARTITIONS > 25_000 && process.env.KAFKA_BROKERS === undefined)
  process.stderr.write(
    `warning: ${EVENTS} events over ${PARTITIONS} partitions is more than the test broker keeps (~25,000 per partition)\n`,
  );
const TOPIC = 'bench-events';
const { CompressionCodecs } = kafkajs;
/** kafkajs' own gzip codec, captured before a job installs featurestream's (`useFastGzip`). */
const PLAIN_GZIP = CompressionCodecs[CompressionTypes.GZIP];

async function produceEvents(kafka: Kafka): Promise<number> {
  const producer = kafka.producer();
  await producer.connect();
  let batch: Message[] = [];
  let n = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await producer.send({ topic: TOPIC, compression: CompressionTypes.GZIP, acks: -1, messages: batch });
    batch = [];
  };
  for (const l of generatePerfLines({ events: EVENTS, seed: 42, models: 6, badFraction: 0 })) {
    const e = JSON.parse(l.line) as { id: string; type: string; timestamp: string };
    batch.push({
      key: e.id,
      value: l.line,
      headers: { event_type: e.type, event_id: e.id, timestamp: e.timestamp },
    });
    n++;
    if (batch.length >= 1000) await flush();
  }
  await flush();
  await producer.disconnect();
  return n;
}

/**
 * Raw kafkajs: a fresh group reads the topic, `JSON.parse`s every message and counts per model;
 * seconds from the first batch to the last message. `codec`: `plain` is kafkajs as installed (the
 * baseline); `featurestream` swaps in the gzip codec and the record decoder the job uses, to show
 * what those alone give.
 */
async function rawConsume(
  kafka: Kafka,
  total: number,
  run: number,
  codec: 'plain' | 'featurestream',
): Promise<number> {
  CompressionCodecs[CompressionTypes.GZIP] = codec === 'plain' ? PLAIN_GZIP : () => gzipCodec;
  selectRecordDecoder(codec === 'plain' ? 'kafkajs' : 'featurestream');
  const consumer = kafka.consumer({ groupId: `bench-raw-${run}-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  let seen = 0;
  let first = 0;
  let last = 0;
  const perKey = new Map<string, number>();
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (first === 0) first = performance.now();
        for (const m of batch.messages) {
          let k = '';
          try {
            k =
              m.value === null
                ? ''
                : ((JSON.parse(m.value.toString('utf8')) as { model?: string }).model ?? '');
          } catch {
            k = 'bad';
          }
          perKey.set(k, (perKey.get(k) ?? 0) + 1);
        }
        seen += batch.messages.length;
        if (seen >= total) {
          last = performance.now();
          resolve();
        }
      },
    });
  });
  await done;
  await consumer.disconnect();
  return total / ((last - first) / 1000);
}

/** The topology: seconds from the first shard restored (the group joined) to the last shard done. */
async function throughTopology(
  brokers: string[],
  total: number,
  run: number,
): Promise<{ eps: number; rows: number; rssMb: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'fs-bench-kafka-'));
  // The member runs in this process: its peak RSS sampled while it runs.
  const rss = sampleRss(50);
  let start = 0;
  let end = 0;
  let shards = 0;
  let done = 0;
  const log = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) {
        if (line.length === 0) continue;
        const e = JSON.parse(line) as { msg?: string; shards?: number[]; done?: boolean };
        if (e.msg === 'shards restored' && start === 0) {
          start = performance.now();
          shards = e.shards?.length ?? 0;
        }
        if (e.msg === 'shard checkpoint committed' && e.done === true && ++done === shards)
          end = performance.now();
      }
      cb();
    },
  });
  try {
    const topology = TOPOLOGIES.get(TOPOLOGY);
    if (topology === undefined) throw new Error(`unknown TOPOLOGY ${TOPOLOGY}`);
    const s = await runKafkaJob({
      topology: topology(),
      brokers,
      topic: TOPIC,
      group: `bench-topology-${run}-${Date.now()}`,
      stateDir: join(dir, 'state'),
      out: null,
      deadLetters: null,
      lateEvents: null,
      checkpointIntervalMs: 2000,
      stopAtEnd: true,
      maxWaitTimeMs: Number(process.env.MAX_WAIT ?? 100),
      // The test broker keeps ~5 MB per partition: keep the repartition backlog well below.
      maxRepartitionLag: Number(process.env.MAX_LAG ?? 32),
      ...(process.env.CHUNK === undefined ? {} : { chunkRecords: Number(process.env.CHUNK) }),
      logger: pino({ level: 'debug' }, log),
    });
    if (s.eventsRead !== total) throw new Error(`the topology read ${s.eventsRead} events of ${total}`);
    return { eps: total / ((end - start) / 1000), rows: s.rowsWritten, rssMb: rss.peakMb() };
  } finally {
    rss.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

/** Runs the benchmark and prints the table. */
export async function main(): Promise<void> {
  // As the run command does: the shipped domains' schemas, functions and topologies, and their
  // modules preloaded by the workers.
  registerDomains();
  // Before any fetch (kafkajs holds its record decoder from the first one on): the baseline then
  // selects kafkajs' own decoder back, as it does kafkajs' own gzip codec.
  if (!useFastRecordDecoder())
    throw new Error('kafkajs fetched before the record decoder could be installed');
  const broker = await startBroker(TOPIC, PARTITIONS);
  try {
    const kafka = new Kafka({ brokers: broker.brokers, clientId: 'fs-bench', logLevel: logLevel.NOTHING });
    const total = await produceEvents(kafka);
    const raw: number[] = [];
    const rawCodec: number[] = [];
    const topo: number[] = [];
    const rss: number[] = [];
    let rows = 0;
    for (let r = 0; r < RUNS; r++) {
      raw.push(await rawConsume(kafka, total, r, 'plain'));
      rawCodec.push(await rawConsume(kafka, total, r, 'featurestream'));
      const t = await throughTopology(broker.brokers, total, r);
      topo.push(t.eps);
      rss.push(t.rssMb);
      rows = t.rows;
      process.stdout.write(
        `run ${r + 1}: raw ${fmt(raw.at(-1)!)} events/s (with featurestream's gzip codec and record decoder ${fmt(rawCodec.at(-1)!)}), topology ${fmt(t.eps)} events/s (${(t.eps / raw.at(-1)!).toFixed(2)}×)\n`,
      );
    }
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const rawM = median(raw);
    const rawCodecM = median(rawCodec);
    const topoM = median(topo);
    process.stdout.write(
      [
        '',
        `${fmt(total)} performance_metrics events, ${PARTITIONS} partitions, gzip; topology ${TOPOLOGY} (${fmt(rows)} rows)`,
        `${cpus().length} × ${cpu}, Node ${process.version}, median of ${RUNS}`,
        '',
        '| | events/s | vs raw |',
        '|---|---|---|',
        `| raw kafkajs consume (JSON.parse every message, count per key) | ${fmt(rawM)} | 1.00× |`,
        `| the same with featurestream's gzip codec and record decoder | ${fmt(rawCodecM)} | ${(rawCodecM / rawM).toFixed(2)}× |`,
        `| runKafkaJob: decode → repartition → shards → changelog | ${fmt(topoM)} | ${(topoM / rawM).toFixed(2)}× |`,
        '',
        `peak RSS while the member ran (sampled every 50 ms, the bench process): ${fmt(Math.max(...rss))} MB`,
        '',
      ].join('\n'),
    );
  } finally {
    await broker.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
