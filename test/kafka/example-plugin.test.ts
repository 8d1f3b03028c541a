/**
 * The shipped user topology (examples/endpoint-errors: a topology file plus its plugin) on the
 * Kafka source: `run --kafka --topology FILE --plugin MODULE` against the test broker of
 * test/kafka/mockbroker gives the same rows as the file run of the same events (whose rows
 * test/example-endpoint-errors.test.ts checks against a recount), with the plugin's filter,
 * aggregation and keyed processor loaded in every pool worker.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, summaryOf, tempDir } from '../support.js';
import { folderLines, KAFKA_ENTRY, produce, startBroker, startRunner, type TestBroker } from './broker.js';

const EXAMPLE = join(ROOT, 'examples/endpoint-errors');
const TOPIC = 'endpoint-events';
const dir = tempDir('fs-kafka-example-');
let broker: TestBroker;

const events = readFileSync(join(EXAMPLE, 'events.ndjson'), 'utf8')
  .split('\n')
  .filter((l) => l !== '');

beforeAll(async () => {
  broker = await startBroker(1, [`${TOPIC}:4`]);
  // Keyed by event id: the endpoint's records spread over all partitions (the job repartitions).
  await produce(
    broker,
    TOPIC,
    events.map((value) => ({ key: (JSON.parse(value) as { id: string }).id, value })),
  );
}, 60_000);

afterAll(async () => {
  await broker?.stop();
});

/** A row without its write-order details: what both sources must agree on. */
const canon = (l: string) => {
  const { group, entity_id, window_start, window_end, event_time, revision, values } = JSON.parse(
    l,
  ) as Record<string, unknown>;
  return JSON.stringify({ group, entity_id, window_start, window_end, event_time, revision, values });
};

describe('examples/endpoint-errors on Kafka', () => {
  it('run --kafka --topology FILE --plugin MODULE gives the rows of the file run', async () => {
    const fileOut = join(dir, 'file-rows.ndjson');
    const file = await runCli([
      'run',
      '--topology',
      join(EXAMPLE, 'topology.yaml'),
      '--plugin',
      join(EXAMPLE, 'plugin.js'),
      '--input',
      join(EXAMPLE, 'events.ndjson'),
      '--out',
      fileOut,
      '--workers',
      '2',
      '--summary-json',
    ]);
    expect(file.code, file.stderr).toBe(0);
    expect(summaryOf(file).eventsRead).toBe(events.length);

    const kafkaOut = join(dir, 'kafka-rows');
    const member = startRunner([
      KAFKA_ENTRY,
      'run',
      '--topology',
      join(EXAMPLE, 'topology.yaml'),
      '--plugin',
      join(EXAMPLE, 'plugin.js'),
      '--kafka',
      broker.bootstrap,
      '--topic',
      TOPIC,
      '--group',
      'example-plugin',
      '--out',
      kafkaOut,
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

    const want = readFileSync(fileOut, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map(canon)
      .sort();
    const got = folderLines(kafkaOut).map(canon).sort();
    // All three groups of the example, the plugin's keyed processor included.
    expect(new Set(got.map((l) => (JSON.parse(l) as { group: string }).group))).toEqual(
      new Set(['endpoint_5min', 'endpoint_1hr', 'endpoint_streak']),
    );
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
  }, 180_000);
});
