/**
 * A topic already keyed by the topology's key (`--topic-key model`): no repartition topic —
 * shard s is source partition s, its clock that partition's own — against the test broker of
 * test/kafka/mockbroker. A stop and a restart with the same group, the second one with its local
 * state gone (so it restores from the changelog), must together give the rows of a file run.
 */
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPOLOGIES } from '../../topology/index.js';
import { runJob } from '../../src/runtime/coordinator.js';
import { runKafkaJob } from '../../src/runtime/kafka/job.js';
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
const dir = tempDir('fs-kafka-direct-');
const lines = comparisonLines(8000, 41);
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  broker = await startBroker(1, ['by-model:4']);
  // Keyed by model, as a topic partitioned by the topology's key would be; bad lines by position.
  await produce(
    broker,
    'by-model',
    lines.map((l, i) => {
      let key = `line-${i}`;
      try {
        const m = (JSON.parse(l) as { model?: unknown }).model;
        if (typeof m === 'string') key = m;
      } catch {
        // not JSON: keep the position key
      }
      return { key, value: l };
    }),
  );
}, 60_000);

afterAll(async () => {
  await broker?.stop();
});

describe('kafka: topic keyed like the topology (no repartition)', () => {
  it('runs shards on the source partitions and restores them from the changelog', async () => {
    const common = {
      topology: TOPOLOGIES.get('llm-perf')!(),
      brokers: broker.brokers,
      topic: 'by-model',
      group: 'direct',
      topicKey: 'model',
      out: join(dir, 'rows'),
      deadLetters: join(dir, 'dl'),
      lateEvents: null,
      checkpointIntervalMs: 200,
      maxWaitTimeMs: 100,
      heartbeatIntervalMs: 500,
      sessionTimeoutMs: 5000,
      maxBytesPerPartition: 8192,
      logger,
    };
    // First run: stopped from outside (an abort is what SIGTERM does) after its third checkpoint.
    const abort = new AbortController();
    let checkpoints = 0;
    const watcher = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n')) {
          if (l.includes('shard checkpoint committed') && ++checkpoints === 3) abort.abort();
        }
        done();
      },
    });
    const s1 = await runKafkaJob({
      ...common,
      stateDir: join(dir, 'state-1'),
      stopAtEnd: true,
      signal: abort.signal,
      logger: pino({ level: 'debug' }, watcher),
    });
    expect(s1.mode).toBe('direct');
    expect(s1.shards).toBe(4);
    expect(s1.stoppedBy).toBe('signal');
    // Second run: another machine (no local state) finishes the bounded run.
    rmSync(join(dir, 'state-1'), { recursive: true, force: true });
    const s2 = await runKafkaJob({ ...common, stateDir: join(dir, 'state-2'), stopAtEnd: true });
    expect(s2.stoppedBy).toBe('end');
    expect(s2.restoredShards).toBe(4);
    expect(s1.eventsRead + s2.eventsRead).toBeGreaterThanOrEqual(lines.length);

    const input = join(dir, 'input.ndjson');
    (await import('node:fs')).writeFileSync(input, `${lines.join('\n')}\n`);
    const ref = join(dir, 'reference.ndjson');
    await runJob({
      topology: TOPOLOGIES.get('llm-perf')!(),
      input,
      out: ref,
      deadLetters: join(dir, 'reference-dl.ndjson'),
      lateEvents: null,
      stateDir: null,
      workers: 1,
      shards: 4,
      checkpointIntervalMs: 60_000,
      logger,
    });
    const expected = (await import('node:fs'))
      .readFileSync(ref, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
    const rows = folderLines(join(dir, 'rows'));
    expect(rows.length).toBeGreaterThan(20);
    expect(rowDifferences(rows, expected)).toEqual([]);
    const reasons = (ls: string[]) => ls.map((l) => (JSON.parse(l) as { reason: string }).reason).sort();
    const refDl = (await import('node:fs'))
      .readFileSync(join(dir, 'reference-dl.ndjson'), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
    expect(refDl.length).toBeGreaterThan(0);
    expect(reasons(folderLines(join(dir, 'dl')))).toEqual(reasons(refDl));
  }, 120_000);
});
