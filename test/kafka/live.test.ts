/**
 * A live Kafka run (no `--stop-at-end`) on a trickle of events: a source partition gathers
 * fetched batches into chunks only while it has more to read, so a few records at a time — far
 * fewer than a chunk — are decoded and reach the shards as they come, and a stop by signal
 * checkpoints them. Real broker (librdkafka's mock cluster), the job in this process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPOLOGIES } from '../../topology/index.js';
import { generatePerfLines } from '../../src/domains/llm/generate/perf-stream.js';
import { createKafkaMetrics } from '../../src/runtime/kafka/metrics.js';
import { runKafkaJob } from '../../src/runtime/kafka/job.js';
import { collectorMessage, produce, startBroker, type TestBroker } from './broker.js';

const TOPIC = 'live-events';
let broker: TestBroker;
let dir: string;

beforeAll(async () => {
  broker = await startBroker(1, [`${TOPIC}:2`]);
  dir = mkdtempSync(join(tmpdir(), 'fs-kafka-live-'));
}, 60_000);

afterAll(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('kafka: a live run', () => {
  it('decodes trickles smaller than a chunk as they arrive, and a signal checkpoints them', async () => {
    const lines = [...generatePerfLines({ events: 90, seed: 3, models: 3, badFraction: 0 })].map(
      (l) => l.line,
    );
    const metrics = createKafkaMetrics();
    const events = async () => (await metrics.events.get()).values[0]?.value ?? 0;
    const abort = new AbortController();
    const job = runKafkaJob({
      topology: TOPOLOGIES.get('llm-perf')!(),
      brokers: broker.brokers,
      topic: TOPIC,
      group: 'live',
      stateDir: join(dir, 'state'),
      out: join(dir, 'rows'),
      deadLetters: null,
      lateEvents: null,
      checkpointIntervalMs: 60_000,
      stopAtEnd: false,
      maxWaitTimeMs: 100,
      logger: pino({ level: 'silent' }),
      metrics,
      signal: abort.signal,
    });
    job.catch(() => undefined);
    // Three trickles of 30 (a chunk is 1,000): each is decoded before the next is produced.
    for (let t = 0; t < 3; t++) {
      const part = lines.slice(t * 30, t * 30 + 30);
      await produce(
        broker,
        TOPIC,
        part.map((l, i) => collectorMessage(l, `k${t}-${i}`)),
      );
      const want = (t + 1) * 30;
      for (let i = 0; i < 300 && (await events()) < want; i++) await sleep(100);
      expect(await events(), `trickle ${t + 1} decoded`).toBe(want);
    }
    abort.abort();
    const summary = await job;
    expect(summary.stoppedBy).toBe('signal');
    expect(summary.eventsRead).toBe(90);
    expect(summary.checkpoints).toBeGreaterThan(0);
  }, 120_000);
});
