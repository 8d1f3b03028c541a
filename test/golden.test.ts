/**
 * Golden tests (style.md §11): `test/golden/perf/input.ndjson` + the llm-perf topology →
 * `expected.ndjson`, run straight through, with a SIGKILL and restore in the middle, and with
 * 1, 2 and 4 workers: the output must be the same set of rows every time.
 *
 * The expected file was produced by this engine and is checked independently by the DuckDB
 * oracle test (same semantics); regenerate it with `UPDATE_GOLDEN=1 npx vitest run test/golden.test.ts`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lines, ROOT, runCli, startCli, tempDir } from './support.js';

const GOLDEN = join(ROOT, 'test/golden/perf');
const input = join(GOLDEN, 'input.ndjson');
const expectedFile = join(GOLDEN, 'expected.ndjson');

function runArgs(dir: string, workers: number, extra: string[] = []): string[] {
  return [
    'run',
    '--topology',
    'llm-perf',
    '--input',
    input,
    '--out',
    join(dir, 'rows.ndjson'),
    '--state-dir',
    join(dir, 'state'),
    '--workers',
    String(workers),
    ...extra,
  ];
}

const sorted = (xs: string[]) => [...xs].sort();

describe('golden: perf', () => {
  it('straight through equals expected.ndjson', async () => {
    const dir = tempDir('fs-golden-');
    const r = await runCli(runArgs(dir, 2));
    expect(r.code, r.stderr).toBe(0);
    const got = lines(join(dir, 'rows.ndjson'));
    if (process.env.UPDATE_GOLDEN === '1') {
      writeFileSync(expectedFile, `${sorted(got).join('\n')}\n`);
    }
    expect(sorted(got)).toEqual(lines(expectedFile));
  });

  it.each([1, 2, 4])('with %i workers equals expected.ndjson', async (workers) => {
    const dir = tempDir('fs-golden-');
    const r = await runCli(runArgs(dir, workers));
    expect(r.code, r.stderr).toBe(0);
    expect(sorted(lines(join(dir, 'rows.ndjson')))).toEqual(lines(expectedFile));
  });

  it('killed after its third checkpoint and restored (with another worker count) equals expected.ndjson', async () => {
    const dir = tempDir('fs-golden-');
    const extra = ['--checkpoint-interval', '0', '--batch-lines', '200', '--log-level', 'debug'];
    const child = startCli(runArgs(dir, 2, extra));
    let checkpoints = 0;
    const killed = new Promise<void>((resolve) => {
      child.stderr!.on('data', (d: Buffer) => {
        checkpoints += (d.toString().match(/checkpoint committed/g) ?? []).length;
        if (checkpoints >= 3 && child.exitCode === null) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await killed;
    const first = await child.result;
    expect(first.signal).toBe('SIGKILL');
    const second = await runCli(runArgs(dir, 4, ['--log-level', 'info']));
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resuming from checkpoint/);
    const got = lines(join(dir, 'rows.ndjson'));
    expect(new Set(got).size).toBe(got.length);
    expect(sorted(got)).toEqual(lines(expectedFile));
  });
});
