/**
 * The bad-input policy on Kafka (issue 31, src/runtime/dead-letter-policy.ts): by default a member
 * logs, counts and goes on; with `deadLetterPolicy` (`--max-dead-letter-share`) it stops — as on
 * SIGTERM: batch finished, every shard checkpointed, group left — and fails with an InputError
 * once a window of its source records is mostly dead letters. A restart of the same group (what
 * Kubernetes does) without the flag finishes the job, and the two runs together give the rows of
 * one file run over the same records, exactly once. Against the test broker (test/kafka/mockbroker).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPOLOGIES } from '../../topology/index.js';
import { runJob } from '../../src/runtime/coordinator.js';
import { runKafkaJob } from '../../src/runtime/kafka/job.js';
import { InputError } from '../../src/shared/errors.js';
import { tempDir } from '../support.js';
import {
  comparisonLines,
  folderLines,
  produce,
  rowDifferences,
  startBroker,
  type TestBroker,
} from './broker.js';

let broker: TestBroker;
const dir = tempDir('fs-kafka-dlpolicy-');
const good = comparisonLines(4000, 53);
/** 2,000 events, 3,000 lines that are not JSON (a producer gone wrong), the other events. */
const lines = [
  ...good.slice(0, 2000),
  ...Array.from({ length: 3000 }, (_, i) => `id,type,timestamp,${i}`),
  ...good.slice(2000),
];
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  broker = await startBroker(1, ['mixed:1']);
  await produce(
    broker,
    'mixed',
    lines.map((l, i) => ({ key: `line-${i}`, value: l })),
  );
}, 60_000);

afterAll(async () => {
  await broker?.stop();
});

describe('kafka: the dead-letter policy', () => {
  it('opt-in: stops checkpointed on a mostly-bad window; a restart without it finishes, exactly once', async () => {
    const common = {
      topology: TOPOLOGIES.get('llm-perf')!(),
      brokers: broker.brokers,
      topic: 'mixed',
      group: 'dl-policy',
      out: join(dir, 'rows'),
      deadLetters: join(dir, 'dl'),
      lateEvents: null,
      stateDir: join(dir, 'state'),
      checkpointIntervalMs: 60_000, // only the final checkpoint of the stop
      maxWaitTimeMs: 100,
      heartbeatIntervalMs: 500,
      sessionTimeoutMs: 5000,
      maxBytesPerPartition: 8192,
      chunkRecords: 200,
      stopAtEnd: true,
      logger,
    };
    const err = await runKafkaJob({ ...common, deadLetterPolicy: { maxShare: 0.5, window: 1000 } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(
      /^--topic mixed \(the partitions this member reads\): [\d,]+ of [\d,]+ records are dead letters \(not_json [\d,]+\) — not NDJSON events\? \d+% of a window of [\d,]+ records is above --max-dead-letter-share 0\.5; stopped after committing what was read/,
    );
    // The restart (default policy: log, count, go on) finishes the bounded run.
    const s2 = await runKafkaJob(common);
    expect(s2.stoppedBy).toBe('end');
    // It did not start over: the stop had checkpointed and committed its offsets.
    expect(s2.eventsRead).toBeLessThan(lines.length);
    process.stdout.write(
      `dead-letter policy: the restart read ${s2.eventsRead} of ${lines.length} records\n`,
    );

    const input = join(dir, 'input.ndjson');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const ref = join(dir, 'reference.ndjson');
    const want = await runJob({
      topology: TOPOLOGIES.get('llm-perf')!(),
      input,
      out: ref,
      deadLetters: null,
      lateEvents: null,
      stateDir: null,
      workers: 1,
      shards: 1,
      checkpointIntervalMs: 60_000,
      logger,
    });
    expect(s2.heldTotals.deadLettersByReason).toEqual(want.deadLettersByReason);
    const expected = (await import('node:fs'))
      .readFileSync(ref, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
    const rows = folderLines(join(dir, 'rows'));
    expect(rows.length).toBeGreaterThan(20);
    expect(rowDifferences(rows, expected)).toEqual([]);
  }, 180_000);
});
