/**
 * One stream, two drivers: the same events — every event type, repeated and new prompts, 1 %
 * malformed lines (cut, wrong types, unknown types), 0.5 % events late beyond the windows'
 * lateness — through `featurestream run --input FILE` and through one Kafka member reading a
 * one-partition topic of the test broker (test/kafka/mockbroker) give identical rows, and dead
 * letters and late events with the same raw text and every field a file's record has, under the
 * same names (a Kafka record adds its source partition and key). Both are the command line, so
 * both run the topology as `run` does (the derived version follows the embedder).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../support.js';
import {
  brokerWithEventsForFile,
  folderLines,
  KAFKA_ENTRY,
  kafkaArgs,
  multisetDifferences,
  runnerSummary,
  startRunner,
  within,
} from './broker.js';

const dir = tempDir('fs-kafka-file-and-kafka-');
const input = join(dir, 'events.ndjson');
const gen = spawnSync(
  process.execPath,
  [
    KAFKA_ENTRY,
    'generate',
    '--kind',
    'llm',
    '--events',
    '6000',
    '--seed',
    '11',
    '--bad-fraction',
    '0.01',
    '--late-fraction',
    '0.005',
    '--out',
    input,
  ],
  { cwd: ROOT, encoding: 'utf8' },
);
if (gen.status !== 0) throw new Error(`generate failed: ${gen.stderr}`);
// A record over 1 MiB does not fit a Kafka message: the stream leaves such lines out for both.
const lines = readFileSync(input, 'utf8')
  .split('\n')
  .filter((l) => l.length > 0 && Buffer.byteLength(l) < 900_000);
writeFileSync(input, `${lines.join('\n')}\n`);
const broker = brokerWithEventsForFile(1, 'events', 1, lines);

const read = (p: string) =>
  readFileSync(p, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
const parsed = (ls: readonly string[]) => ls.map((l) => JSON.parse(l) as Record<string, unknown>);

describe('a file run and a Kafka member over the same stream', () => {
  it('write identical rows, and dead letters and late events with the same fields and raw text', async () => {
    const fileDir = join(dir, 'file');
    mkdirSync(fileDir, { recursive: true });
    const file = spawnSync(
      process.execPath,
      [
        KAFKA_ENTRY,
        'run',
        '--topology',
        'llm-features',
        '--input',
        input,
        '--out',
        join(fileDir, 'rows.ndjson'),
        '--dead-letters',
        join(fileDir, 'dl.ndjson'),
        '--late-events',
        join(fileDir, 'late.ndjson'),
        '--embedding-cache',
        join(dir, 'embeddings'),
        '--summary-json',
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(file.status, file.stderr.slice(-3000)).toBe(0);

    const runDir = join(dir, 'kafka');
    const member = startRunner(
      kafkaArgs({
        broker,
        topic: 'events',
        group: 'file-and-kafka',
        dir: runDir,
        tag: 'a',
        extra: ['--workers', '2', '--embedding-cache', join(dir, 'embeddings')],
      }),
    );
    const res = await within(member.result, 200_000, 'the member to finish', { member }, runDir);
    expect(res.code, res.stderr.slice(-3000)).toBe(0);
    expect(runnerSummary(res.stdout).stoppedBy).toBe('end');

    const fileRows = read(join(fileDir, 'rows.ndjson'));
    const kafkaRows = folderLines(join(runDir, 'rows'));
    expect(fileRows.length).toBeGreaterThan(1000);
    expect(parsed(fileRows).some((r) => r.group === 'derived')).toBe(true);
    expect(multisetDifferences(kafkaRows, fileRows)).toEqual([]);

    // Dead letters: the same reasons, details and raw text; a Kafka record has every field of a file's.
    const fileDl = parsed(read(join(fileDir, 'dl.ndjson')));
    const kafkaDl = parsed(folderLines(join(runDir, 'dl')));
    expect(fileDl.length).toBeGreaterThan(10);
    const dlKey = (d: Record<string, unknown>) => `${d.reason}\t${d.detail}\t${d.raw}`;
    expect(kafkaDl.map(dlKey).sort()).toEqual(fileDl.map(dlKey).sort());
    for (const d of kafkaDl) expect(Object.keys(d)).toEqual(expect.arrayContaining(Object.keys(fileDl[0]!)));

    // Late events likewise.
    const fileLate = parsed(read(join(fileDir, 'late.ndjson')));
    const kafkaLate = parsed(folderLines(join(runDir, 'late')));
    expect(fileLate.length).toBeGreaterThan(0);
    const lateKey = (d: Record<string, unknown>) => `${d.window}\t${d.group}\t${d.event_time}\t${d.raw}`;
    expect(kafkaLate.map(lateKey).sort()).toEqual(fileLate.map(lateKey).sort());
    for (const d of kafkaLate)
      expect(Object.keys(d)).toEqual(expect.arrayContaining(Object.keys(fileLate[0]!)));
  }, 400_000);
});
