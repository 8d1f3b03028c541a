import { rmSync } from 'node:fs';
import type { Admin } from 'kafkajs';
import { CheckpointStore } from '../../../state/checkpoint-store.js';
import { createBackend } from '../../../state/create-backend.js';
import { ChangelogFold, type ChangelogReader } from '../../connectors/kafka/changelog.js';
import { ExternalError } from '../../shared/errors.js';
import { readShardRecord, type ShardRecord } from './shard-record.js';
import { type ShardContext, ShardTask, shardLocation } from './shard-task.js';

/** Options of {@link restoreShards}. */
export interface RestoreOptions {
  readonly admin: Admin;
  readonly reader: ChangelogReader;
}

/**
 * Restores shards before they process anything: each shard's local state (if this machine has
 * one, per its shard record) is brought up to the changelog's last marker by reading the
 * changelog from the record's offset to its end (all of it when there is no local state); the
 * result is folded into LevelDB as one checkpoint, the shard claims ownership with a new epoch,
 * and its actor opens the state. One reader session serves every shard given.
 *
 * A local state that matches the changelog's end (a StatefulSet pod restarted with its volume)
 * reads nothing.
 */
export async function restoreShards(
  ctx: ShardContext,
  shards: readonly number[],
  opts: RestoreOptions,
): Promise<Map<number, ShardTask>> {
  const started = performance.now();
  const records = new Map<number, ShardRecord | null>();
  for (const s of shards) {
    let rec = readShardRecord(ctx.stateDir, s);
    if (rec !== null && !(await localMatches(ctx.stateDir, s, rec.id))) rec = null;
    if (rec === null) rmSync(shardLocation(ctx.stateDir, s), { recursive: true, force: true });
    records.set(s, rec);
  }
  const ends = await opts.admin.fetchTopicOffsets(ctx.changelogTopic);
  const high = new Map(ends.map((o) => [o.partition, Number(o.high)]));
  const low = new Map(ends.map((o) => [o.partition, Number(o.low)]));
  const ranges = new Map<number, { from: number; to: number }>();
  const folds = new Map<number, ChangelogFold>();
  for (const s of shards) {
    const rec = records.get(s) ?? null;
    const from = rec?.after ?? 0;
    const to = high.get(s) ?? 0;
    if (from < to && from < (low.get(s) ?? 0)) {
      // A compacted changelog keeps its start; a moved start means records were deleted.
      throw new ExternalError(
        `changelog ${ctx.changelogTopic} partition ${s} starts at offset ${low.get(s)} but shard ${s} must be ` +
          `restored from offset ${from}: records were deleted (the changelog must be compacted, not deleted by retention)`,
        { retryable: false },
      );
    }
    ranges.set(s, { from, to });
    folds.set(s, new ChangelogFold(rec?.epoch ?? 0));
  }
  let read = 0;
  await Promise.all(
    [...ranges].map(([p, r]) =>
      opts.reader.read(p, r.from, r.to, (rec) => {
        read++;
        folds.get(p)!.add(rec);
      }),
    ),
  );
  const out = new Map<number, ShardTask>();
  try {
    for (const s of shards) {
      out.set(s, await ShardTask.open(ctx, s, records.get(s) ?? null, folds.get(s)!.result()));
    }
  } catch (err) {
    for (const t of out.values()) await t.close().catch(() => undefined);
    throw err;
  }
  const seconds = (performance.now() - started) / 1000;
  ctx.metrics.restoreSeconds.observe(seconds);
  ctx.metrics.restores.inc(shards.length);
  ctx.logger.info(
    {
      shards,
      changelogRecords: read,
      seconds: Number(seconds.toFixed(3)),
      fromLocal: shards.filter((s) => records.get(s) !== null),
    },
    'shards restored',
  );
  return out;
}

/** Whether the local LevelDB of a shard is at (or has pending) checkpoint `id`. */
async function localMatches(stateDir: string, shard: number, id: number): Promise<boolean> {
  const store = new CheckpointStore(
    createBackend({ kind: 'leveldb', location: shardLocation(stateDir, shard) }),
  );
  try {
    const snap = await store.restore(id);
    return snap.checkpointId === id;
  } catch {
    return false;
  } finally {
    await store.close().catch(() => undefined);
  }
}
