import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { readLines } from '../connectors/file-source.js';
import { ConfigError } from '../shared/errors.js';
import type { DecodeFn } from '../../operators/schemas.js';

/** One input file of a replay with its size (the progress total). */
export interface ReplayInput {
  readonly path: string;
  readonly bytes: number;
}

/**
 * The files of `--input`: the file itself, or the NDJSON files of a directory (`.ndjson`,
 * `.jsonl`, `.json`, each optionally `.gz`) in name order — the order they are read in.
 */
export function replayInputs(input: string): ReplayInput[] {
  if (!existsSync(input))
    throw new ConfigError(`--input: no such file or directory: ${input}`, { field: '--input' });
  const st = statSync(input);
  if (!st.isDirectory()) return [{ path: input, bytes: st.size }];
  const names = readdirSync(input)
    .filter((n) => /\.(ndjson|jsonl|json)(\.gz)?$/.test(n))
    .sort();
  if (names.length === 0)
    throw new ConfigError(`--input: no .ndjson/.jsonl/.json(.gz) files in ${input}`, { field: '--input' });
  return names.map((n) => ({ path: join(input, n), bytes: statSync(join(input, n)).size }));
}

/** What the scan kept. */
export interface ScanResult {
  readonly linesRead: number;
  readonly linesKept: number;
  /** True when reading stopped at an event at or after the plan's stop time (the rest is not needed). */
  readonly stoppedEarly: boolean;
}

/**
 * Copies the events a replay needs into `out`, in input order: every line that decodes to an
 * event with event time ≥ `readFrom`, up to (not including) the first event with event time ≥
 * `stopAt`. Lines that do not decode are left out (a replay writes features, not dead letters).
 * The file is written under a temporary name, fsynced and renamed, so it exists only complete.
 *
 * @example
 * await scanInputs(replayInputs('events/'), 'state/replay-events.ndjson', plan.readFrom, plan.stopAt, schemaDecoder('llm-events'));
 */
export async function scanInputs(
  inputs: readonly ReplayInput[],
  out: string,
  readFrom: number,
  stopAt: number,
  /** The decoder of the replayed topology's schema (`schemaDecoder`). */
  decodeLine: DecodeFn,
  onProgress?: (bytes: number, lines: number) => void,
): Promise<ScanResult> {
  const tmp = `${out}.partial`;
  const fd = openSync(tmp, 'w');
  let linesRead = 0;
  let linesKept = 0;
  let stoppedEarly = false;
  let bytesBefore = 0;
  let lastProgress = 0;
  try {
    files: for (const input of inputs) {
      for await (const batch of readLines(input.path, { offset: 0, line: 0 }, 4096)) {
        let chunk = '';
        for (const line of batch.lines) {
          linesRead++;
          const r = decodeLine(line);
          if (!r.ok) continue;
          if (r.event.ts >= stopAt) {
            stoppedEarly = true;
            break;
          }
          if (r.event.ts < readFrom) continue;
          chunk += `${line}\n`;
          linesKept++;
        }
        if (chunk.length > 0) writeSync(fd, chunk);
        const t = performance.now();
        if (onProgress !== undefined && t - lastProgress > 250) {
          lastProgress = t;
          onProgress(bytesBefore + batch.end.offset, linesRead);
        }
        if (stoppedEarly) break files;
      }
      bytesBefore += input.bytes;
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, out);
  return { linesRead, linesKept, stoppedEarly };
}
