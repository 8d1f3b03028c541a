/**
 * Two processes in one consumer group split the partitions of a real Kafka-protocol broker (the
 * test broker of test/kafka/mockbroker, one per test file); one is SIGKILLed mid-stream; the other
 * takes its partitions over, restores the dead member's shards from the changelog, and finishes
 * the bounded run. The feature rows of all shards must equal a file run (`runJob`) over the same
 * events: nothing lost, nothing doubled — whatever the topology emits. Both members also write
 * the offline store (PostgreSQL), whose `feature_values` must equal the one a single-process
 * file run writes over the same events.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OfflineStore } from '../../src/stores/offline-postgres.js';
import { dropSchema, offlineUrl, PG_URL, readOfflineTables, uniqueName } from '../stores-support.js';
import { tempDir } from '../support.js';
import {
  comparisonLines,
  fileRun,
  folderLines,
  kafkaArgs,
  rowDifferences,
  runnerSummary,
  brokerWithEventsForFile,
  startRunner,
  within,
} from './broker.js';

const dir = tempDir('fs-kafka-takeover-');
const lines = comparisonLines(40_000, 11);
const broker = brokerWithEventsForFile(3, 'events', 8, lines);
let reference: Awaited<ReturnType<typeof fileRun>>;
const pool = new pg.Pool({ connectionString: PG_URL });
const refSchema = uniqueName('fs_kafka_ref');
const kafkaSchema = uniqueName('fs_kafka_takeover');

beforeAll(async () => {
  // Migrated up front, so the two members do not race to create the tables.
  for (const schema of [refSchema, kafkaSchema]) {
    const store = await OfflineStore.open(offlineUrl(schema));
    await store.migrate();
    await store.close();
  }
  reference = await fileRun(dir, lines, offlineUrl(refSchema));
}, 120_000);

afterAll(async () => {
  for (const schema of [refSchema, kafkaSchema]) await dropSchema(pool, schema);
  await pool.end();
});

describe('kafka: takeover after SIGKILL', () => {
  it('two members split the partitions; one is killed; the other restores its shards; rows equal a file run', async () => {
    const group = 'takeover';
    const args = (tag: string) =>
      kafkaArgs({
        broker,
        topic: 'events',
        group,
        dir,
        tag,
        extra: ['--log-level', 'debug', '--fetch-max-bytes', '32768', '--offline', offlineUrl(kafkaSchema)],
      });
    const a = startRunner(args('a'));
    const b = startRunner(args('b'));
    // Both members hold partitions, then A checkpoints at least once: kill it mid-stream.
    const assigned = (e: Record<string, unknown>) =>
      e.msg === 'partitions assigned' &&
      ((e.source as number[]).length > 0 || (e.shards as number[]).length > 0);
    const runners = { a, b };
    const aJoined = await within(a.waitForLog(assigned), 60_000, 'A to join', runners, dir);
    await within(b.waitForLog(assigned), 60_000, 'B to join', runners, dir);
    await within(
      a.waitForLog((e) => e.msg === 'shard checkpoint committed'),
      60_000,
      'a checkpoint of A',
      runners,
      dir,
    );
    a.child.kill('SIGKILL');
    const ra = await a.result;
    expect(ra.signal).toBe('SIGKILL');
    expect(
      (aJoined.source as number[]).length + (aJoined.shards as number[]).length,
      'A held partitions',
    ).toBeGreaterThan(0);

    const rb = await within(b.result, 90_000, 'B to finish', runners, dir);
    expect(rb.code, rb.stderr.slice(-3000)).toBe(0);
    const sb = runnerSummary(rb.stdout);
    expect(sb.stoppedBy).toBe('end');
    // B restored A's shards from the changelog (records read) after A died.
    const restores = rb.stderr
      .split('\n')
      .filter((l) => l.includes('"shards restored"'))
      .map((l) => JSON.parse(l) as { changelogRecords: number; shards: number[] });
    expect(restores.some((r) => r.changelogRecords > 0)).toBe(true);

    const rows = folderLines(join(dir, 'rows'));
    expect(rows.length).toBeGreaterThan(100);
    expect(rowDifferences(rows, reference.rows)).toEqual([]);

    // The offline store equals the single-process run's: every row, every value, exactly once.
    const kafkaTables = await readOfflineTables(pool, kafkaSchema);
    const refTables = await readOfflineTables(pool, refSchema);
    expect(refTables.features.length).toBeGreaterThan(100);
    expect(kafkaTables.features.length).toBe(refTables.features.length);
    expect(kafkaTables.features).toEqual(refTables.features);

    const dl = folderLines(join(dir, 'dl')).map((l) => JSON.parse(l) as { reason: string; raw: string });
    const key = (d: { reason: string; raw: string }) => `${d.reason}\t${d.raw}`;
    expect(dl.map(key).sort()).toEqual(reference.deadLetters.map(key).sort());
  }, 170_000);
});
