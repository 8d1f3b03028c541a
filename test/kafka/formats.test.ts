/**
 * Payload formats against a real Kafka-protocol broker (the project's test broker (test/kafka/mockbroker)):
 * the LLM Auto-Optimizer collector's messages as it writes them (JSON, gzip, key = event id,
 * headers event_type / event_id / timestamp), Confluent schema-registry framed Avro and JSON
 * Schema payloads, and garbage. The broker has no schema registry, so this test serves the
 * registry's REST subset from a small local HTTP server (./schema-registry-server.ts).
 *
 * Decodable events must give the same rows as a file run over their JSON; garbage, an unknown
 * schema id and undecodable framed payloads are dead letters with a reason code (also produced
 * to the dead-letter topic with the reason in a header), and feature rows go to an output topic.
 */
import { join } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { Message } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPOLOGIES } from '../../topology/index.js';
import { generatePerfLines } from '../../src/domains/llm/generate/perf-stream.js';
import { runKafkaJob } from '../../src/runtime/kafka/job.js';
import { tempDir } from '../support.js';
import {
  collectorMessage,
  fileRun,
  folderLines,
  produce,
  rowDifferences,
  startBroker,
  type TestBroker,
  testKafka,
} from './broker.js';
import { startRegistry, type TestRegistry } from './schema-registry-server.js';

const AVRO_SCHEMA = {
  type: 'record',
  name: 'PerformanceMetrics',
  namespace: 'llm.feedback',
  fields: [
    { name: 'type', type: 'string' },
    { name: 'id', type: 'string' },
    { name: 'timestamp', type: 'string' },
    { name: 'request_id', type: 'string' },
    { name: 'model', type: 'string' },
    { name: 'config_id', type: ['null', 'string'], default: null },
    { name: 'latency_ms', type: 'double' },
    { name: 'input_tokens', type: 'long' },
    { name: 'output_tokens', type: 'long' },
    { name: 'cost', type: 'double' },
    { name: 'quality_score', type: ['null', 'double'], default: null },
    { name: 'error', type: ['null', 'string'], default: null },
    { name: 'metrics', type: { type: 'map', values: 'double' } },
  ],
};

const JSON_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: {
    type: { const: 'performance_metrics' },
    id: { type: 'string' },
    timestamp: { type: 'string' },
    latency_ms: { type: 'number', minimum: 0 },
  },
  required: ['type', 'id', 'timestamp', 'latency_ms'],
};

let broker: TestBroker;
let registry: TestRegistry;
const dir = tempDir('fs-kafka-formats-');
const events = [
  ...generatePerfLines({ events: 3000, seed: 31, models: 4, lateFraction: 0, badFraction: 0 }),
].map((l) => l.line);

/** Expected dead letters by reason: what the garbage below must give. */
const GARBAGE_REASONS = { not_json: 2, unknown_schema: 1, bad_payload: 3 };

beforeAll(async () => {
  broker = await startBroker(1, ['feedback-events:4']);
  registry = await startRegistry();
  const client = new SchemaRegistry({ host: registry.url });
  const avro = await client.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(AVRO_SCHEMA) },
    { subject: 'feedback-events-avro-value' },
  );
  const json = await client.register(
    { type: SchemaType.JSON, schema: JSON.stringify(JSON_SCHEMA) },
    { subject: 'feedback-events-json-value' },
  );
  const messages: Message[] = [];
  for (let i = 0; i < events.length; i++) {
    const line = events[i]!;
    const ev = JSON.parse(line) as Record<string, unknown>;
    if (i % 3 === 0) messages.push(collectorMessage(line, `k-${i}`));
    else if (i % 3 === 1) messages.push({ key: ev.id as string, value: await client.encode(avro.id, ev) });
    else messages.push({ key: ev.id as string, value: await client.encode(json.id, ev) });
    if (i === 100) {
      messages.push({ key: 'g1', value: 'this is not JSON at all' });
      messages.push({ key: 'g2', value: Buffer.from([0x00, 0x01]) }); // framed, but too short
      const unknown = Buffer.alloc(12);
      unknown.writeInt32BE(999, 1); // schema id 999 is not registered
      messages.push({ key: 'g3', value: unknown });
      messages.push({
        key: 'g4',
        value: Buffer.concat([
          (await client.encode(avro.id, ev)).subarray(0, 5),
          Buffer.from([0xff, 0xff, 0xff]),
        ]),
      });
      messages.push({
        key: 'g5',
        value: await client
          .encode(json.id, { ...ev, latency_ms: 1 })
          .then((b) =>
            Buffer.concat([b.subarray(0, 5), Buffer.from(JSON.stringify({ ...ev, latency_ms: 'fast' }))]),
          ),
      });
      messages.push({ key: 'g6', value: '{"type":"performance_metrics","id":"x"' });
    }
  }
  await produce(broker, 'feedback-events', messages);
}, 120_000);

afterAll(async () => {
  await broker?.stop();
  await registry?.close();
});

describe('kafka: payload formats', () => {
  it('collector JSON, Avro and JSON Schema payloads decode; garbage and unknown schema ids are dead letters', async () => {
    const summary = await runKafkaJob({
      topology: TOPOLOGIES.get('llm-features')!(),
      brokers: broker.brokers,
      topic: 'feedback-events',
      group: 'formats',
      stateDir: join(dir, 'state'),
      out: join(dir, 'rows'),
      deadLetters: join(dir, 'dl'),
      lateEvents: null,
      outputTopic: 'feature-rows',
      deadLetterTopic: 'feedback-events-dlq',
      schemaRegistry: registry.url,
      checkpointIntervalMs: 500,
      stopAtEnd: true,
      maxWaitTimeMs: 100,
      heartbeatIntervalMs: 500,
      sessionTimeoutMs: 10_000,
      logger: pino({ level: 'silent' }),
    });
    expect(summary.stoppedBy).toBe('end');
    expect(summary.eventsRead).toBe(events.length + 6);
    expect(summary.deadLettersByReason).toEqual(GARBAGE_REASONS);

    const reference = await fileRun(dir, events);
    const rows = folderLines(join(dir, 'rows'));
    expect(rows.length).toBeGreaterThan(20);
    expect(rowDifferences(rows, reference.rows)).toEqual([]);

    const dl = folderLines(join(dir, 'dl')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const byKey = Object.fromEntries(dl.map((d) => [d.key as string, d.reason as string]));
    expect(byKey).toEqual({
      g1: 'not_json',
      g2: 'bad_payload',
      g3: 'unknown_schema',
      g4: 'bad_payload',
      g5: 'bad_payload',
      g6: 'not_json',
    });
    // Binary payloads keep their bytes (base64), text ones their text.
    expect(dl.find((d) => d.key === 'g1')?.raw).toBe('this is not JSON at all');
    expect(typeof dl.find((d) => d.key === 'g3')?.raw_base64).toBe('string');
    // The unknown id was asked once, then remembered.
    expect(registry.requests.filter((r) => r === 'GET /schemas/ids/999').length).toBe(1);

    // Dead-letter and output topics.
    const kafka = testKafka(broker);
    const consumer = kafka.consumer({ groupId: 'formats-check', maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: ['feedback-events-dlq', 'feature-rows'], fromBeginning: true });
    const dlq: Array<{ key: string; reason: string }> = [];
    let outRows = 0;
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        if (topic === 'feature-rows') outRows++;
        else dlq.push({ key: message.key!.toString(), reason: String(message.headers!['fs-reason']) });
      },
    });
    const deadline = Date.now() + 60_000;
    while ((dlq.length < 6 || outRows < rows.length) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    await consumer.disconnect();
    expect(Object.fromEntries(dlq.map((d) => [d.key, d.reason]))).toEqual(byKey);
    expect(outRows).toBe(rows.length);
  }, 150_000);
});
