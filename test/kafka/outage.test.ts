/**
 * Broker outage: every broker of the test cluster (the project's test broker, one per test file)
 * goes down mid-run and comes back. The run must complete on its own with the same feature rows
 * and dead letters as a file run (`runJob`) over the same events.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sleep, tempDir } from '../support.js';
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

const dir = tempDir('fs-kafka-outage-');
const lines = comparisonLines(30_000, 23);
const broker = brokerWithEventsForFile(3, 'events', 8, lines);
let reference: Awaited<ReturnType<typeof fileRun>>;

beforeAll(async () => {
  reference = await fileRun(dir, lines);
}, 120_000);

describe('kafka: broker down and up mid-run', () => {
  it('completes with the same rows and dead letters as a file run', async () => {
    const r = startRunner(
      kafkaArgs({
        broker,
        topic: 'events',
        group: 'outage',
        dir,
        tag: 'a',
        extra: ['--log-level', 'debug', '--fetch-max-bytes', '32768'],
      }),
    );
    const runners = { a: r };
    await within(
      r.waitForLog((e) => e.msg === 'shard checkpoint committed'),
      60_000,
      'a first checkpoint',
      runners,
      dir,
    );
    broker.command('down -1');
    await sleep(3000);
    broker.command('up -1');
    const res = await within(r.result, 120_000, 'the run to finish', runners, dir);
    writeFileSync(join(dir, 'a.stderr.log'), res.stderr);
    expect(res.code, res.stderr.slice(-3000)).toBe(0);
    expect(runnerSummary(res.stdout).stoppedBy).toBe('end');

    const rows = folderLines(join(dir, 'rows'));
    expect(rows.length).toBeGreaterThan(100);
    expect(rowDifferences(rows, reference.rows)).toEqual([]);
    const key = (d: { reason: string; raw: string }) => `${d.reason}\t${d.raw}`;
    const dl = folderLines(join(dir, 'dl')).map((l) => JSON.parse(l) as { reason: string; raw: string });
    expect(dl.map(key).sort()).toEqual(reference.deadLetters.map(key).sort());
  }, 200_000);
});
