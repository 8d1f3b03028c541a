import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExternalError } from '../../shared/errors.js';
import { writeFileAtomic } from '../atomic-file.js';

/**
 * What this machine's copy of a shard's state corresponds to in the changelog: the checkpoint
 * its LevelDB location holds (`id`), the changelog offset right after that checkpoint's marker
 * (`after`: a restore reads the changelog from there on) and the epoch it was written under.
 * Written atomically after the marker is acknowledged and before the local delta is folded, so
 * the local state is always at `id` or has `id` pending (which `CheckpointStore.restore(id)`
 * folds).
 */
export interface ShardRecord {
  readonly version: 1;
  readonly shard: number;
  readonly id: number;
  readonly after: number;
  readonly epoch: number;
}

/** Path of a shard's record in the state dir. */
export function shardRecordPath(stateDir: string, shard: number): string {
  return join(stateDir, `shard-${shard}.kafka.json`);
}

/** The shard's record, or null when this machine holds no state of it. */
export function readShardRecord(stateDir: string, shard: number): ShardRecord | null {
  const p = shardRecordPath(stateDir, shard);
  if (!existsSync(p)) return null;
  try {
    const r = JSON.parse(readFileSync(p, 'utf8')) as ShardRecord;
    if (r.version !== 1 || r.shard !== shard) return null;
    return r;
  } catch (cause) {
    throw new ExternalError(`cannot read shard record ${p}`, { cause, retryable: false });
  }
}

/** Writes a shard's record atomically (temp file, fsync, rename, fsync of the folder). */
export function writeShardRecord(stateDir: string, rec: ShardRecord): void {
  writeFileAtomic(shardRecordPath(stateDir, rec.shard), JSON.stringify(rec));
}
