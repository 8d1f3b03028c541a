import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodeTime, encodeTime } from '../../operators/operator.js';
import { ConfigError, ExternalError } from '../shared/errors.js';
import type { FilePosition } from '../connectors/file-source.js';
import { writeFileAtomic } from './atomic-file.js';
import type { SourceClock } from './source-clock.js';

/**
 * The coordinator's commit record: checkpoint `id` is complete when this file says so. It holds
 * what the shards cannot: the source position, the event-time clock, the committed lengths of
 * the sink files and the job's counters. Written atomically (temp file, fsync, rename, fsync of
 * the folder), so a crash leaves either the previous record or the new one.
 */
export interface CheckpointRecord {
  readonly version: 1;
  readonly id: number;
  readonly topology: string;
  readonly shards: number;
  readonly input: string;
  readonly position: FilePosition;
  readonly clock: { value: number; partitions: Array<[number, number]> };
  readonly sinks: { out: number | null; deadLetters: number | null; lateEvents: number | null };
  readonly counters: {
    eventsRead: number;
    deadLettersByReason: Record<string, number>;
    lateByWindow: Record<string, number>;
    rowsByGroup: Record<string, number>;
    invalidValues?: Record<string, number>;
    provided?: Record<string, { keys: number; cacheHits: number }>;
    /** Dead letters by reason among the first lines the dead-letter policy checks. */
    headDeadLettersByReason?: Record<string, number>;
  };
  readonly done: boolean;
}

const FILE = 'checkpoint.json';

export function readCheckpoint(stateDir: string): CheckpointRecord | null {
  const p = join(stateDir, FILE);
  if (!existsSync(p)) return null;
  try {
    const raw = JSON.parse(readFileSync(p, 'utf8')) as CheckpointRecord & {
      clock: { value: number | string; partitions: Array<[number, number | string]> };
    };
    return {
      ...raw,
      clock: {
        value: decodeTime(raw.clock.value),
        partitions: raw.clock.partitions.map(([k, v]) => [k, decodeTime(v)] as [number, number]),
      },
    };
  } catch (cause) {
    throw new ExternalError(`cannot read checkpoint record ${p}`, { cause, retryable: false });
  }
}

export function writeCheckpoint(stateDir: string, rec: CheckpointRecord): void {
  const body = JSON.stringify(
    {
      ...rec,
      clock: {
        value: encodeTime(rec.clock.value),
        partitions: rec.clock.partitions.map(([k, v]) => [k, encodeTime(v)]),
      },
    },
    null,
    2,
  );
  writeFileAtomic(join(stateDir, FILE), body);
}

/** A file run's clock (one part, 0) in the record's form, as written since 0.1.0. */
export function clockRecord(clock: SourceClock): CheckpointRecord['clock'] {
  const part = clock.partitionClock(0);
  return { value: clock.current, partitions: part === Number.NEGATIVE_INFINITY ? [] : [[0, part]] };
}

/** Restores a file run's clock from its record ({@link clockRecord}); its part counts as seen at `nowMs`. */
export function restoreClock(clock: SourceClock, rec: CheckpointRecord['clock'], nowMs: number): void {
  const part = rec.partitions.find(([p]) => p === 0)?.[1] ?? Number.NEGATIVE_INFINITY;
  clock.restore({ value: rec.value, partitions: [part] }, nowMs);
}

/**
 * The commit record a run resumes from, or null (no state dir, a fresh one, or `fresh`: deleted
 * first). A record of another topology or shard count is refused with what to do.
 */
export function openCheckpoint(
  stateDir: string | null,
  topology: string,
  shards: number,
  fresh: boolean,
): CheckpointRecord | null {
  if (stateDir === null) return null;
  if (fresh) rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  const record = readCheckpoint(stateDir);
  if (record === null) return null;
  if (record.topology !== topology) {
    throw new ConfigError(
      `--state-dir holds a checkpoint of topology "${record.topology}", not "${topology}" (use another --state-dir or --fresh)`,
      { field: '--state-dir' },
    );
  }
  if (record.shards !== shards) {
    throw new ConfigError(
      `--shards must stay ${record.shards} for the state in --state-dir (got ${shards}); the key→shard mapping depends on it`,
      { field: '--shards' },
    );
  }
  return record;
}
