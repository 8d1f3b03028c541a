/**
 * Offset commits the brokers keep refusing: from the member's first checkpoint on, the test broker
 * answers every OffsetCommit with NOT_COORDINATOR (the error injection of its mock cluster,
 * per request type). Offsets only say where to resume reading — a shard's position of record is
 * its changelog marker — so the member must go on reading, processing and checkpointing every
 * shard to the end of its input meanwhile, and stop on SIGTERM with exit 0 and every row written.
 *
 * Before the fix each checkpoint waited, under the member's exclusive lock, for kafkajs' retries of
 * the refused commit (about a minute): no batch ran, no heartbeat went out, the group dropped the
 * member, and under sustained broker errors it made no progress at all (the broker-fault soak,
 * test/soak/kafka-faults.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support.js';
import {
  brokerWithEventsForFile,
  comparisonLines,
  fileRun,
  folderLines,
  kafkaArgs,
  rowDifferences,
  runnerSummary,
  startRunner,
  within,
} from './broker.js';

const dir = tempDir('fs-kafka-commit-errors-');
const lines = comparisonLines(20_000, 29);
const broker = brokerWithEventsForFile(3, 'events', 4, lines);
let reference: Awaited<ReturnType<typeof fileRun>>;

beforeAll(async () => {
  reference = await fileRun(dir, lines);
}, 120_000);

describe('kafka: offset commits refused from the first checkpoint on', () => {
  it('the member still processes and checkpoints every shard to the end of its input; SIGTERM → 0 with every row', async () => {
    const r = startRunner(
      kafkaArgs({
        broker,
        topic: 'events',
        group: 'commit-errors',
        dir,
        tag: 'a',
        extra: ['--log-level', 'debug', '--fetch-max-bytes', '32768'],
      }),
    );
    const runners = { a: r };
    const setUp = await within(
      r.waitForLog((e) => e.msg === 'kafka job set up'),
      60_000,
      'the job to set up',
      runners,
      dir,
    );
    await within(
      r.waitForLog((e) => e.msg === 'shard checkpoint committed'),
      60_000,
      'a first checkpoint',
      runners,
      dir,
    );
    // Every OffsetCommit from now on is refused (far more errors than the test can use up).
    expect(await broker.apply('err 8 16 100000')).toBe('Success');
    const shards = Array.from({ length: setUp.shards as number }, (_, s) => s);
    await within(
      Promise.all(
        shards.map((s) =>
          r.waitForLog((e) => e.msg === 'shard checkpoint committed' && e.shard === s && e.done === true),
        ),
      ),
      90_000,
      'every shard to checkpoint the end of its input while offset commits are refused',
      runners,
      dir,
    );
    r.child.kill('SIGTERM');
    const res = await within(r.result, 60_000, 'the member to stop on SIGTERM', runners, dir);
    writeFileSync(join(dir, 'a.stderr.log'), res.stderr);
    expect(res.code, res.stderr.slice(-3000)).toBe(0);
    expect(res.stderr).toMatch(/"msg":"offset commit (failed|still retrying; it goes on in the background)"/);
    expect(runnerSummary(res.stdout).stoppedBy).toBe('signal');

    const rows = folderLines(join(dir, 'rows'));
    expect(rows.length).toBeGreaterThan(100);
    expect(rowDifferences(rows, reference.rows)).toEqual([]);
    const key = (d: { reason: string; raw: string }) => `${d.reason}\t${d.raw}`;
    const dl = folderLines(join(dir, 'dl')).map((l) => JSON.parse(l) as { reason: string; raw: string });
    expect(dl.map(key).sort()).toEqual(reference.deadLetters.map(key).sort());
  }, 300_000);
});
