import { InternalError } from '../shared/errors.js';
import type { OutputLengths, Outputs } from './outputs.js';
import type { ShardPool } from './shard-pool.js';

/** What {@link commitShards} checkpoints and how the commit record is made durable. */
export interface CommitStep {
  readonly pool: ShardPool;
  readonly shards: readonly number[];
  readonly id: number;
  readonly outputs: Outputs;
  /** The shards' checkpoint meta (the source position…), given the output files' committed lengths. */
  readonly meta: (lengths: OutputLengths) => Readonly<Record<string, string>>;
  /** Ask the shards for their changed entries too (a Kafka shard writes them to its changelog). */
  readonly withChanges?: boolean;
  /**
   * Makes the commit record durable — the commit point: a file run's `checkpoint.json`, a Kafka
   * shard's changelog marker and shard record. `changes`: the shards' prepared entries, when asked.
   */
  readonly commit: (
    lengths: OutputLengths,
    changes: ReadonlyArray<readonly [string, string | null]>,
  ) => Promise<void> | void;
}

/**
 * The one checkpoint of a job's shard actors, file run or Kafka shard: the sinks are flushed and
 * the output files fsynced (their committed lengths), every shard prepares its changed state with
 * the meta in one batch (phase 1), the commit record is made durable (the commit point), and the
 * shards fold their delta (phase 2). A crash before the commit point restores the previous
 * checkpoint; after it, this one.
 *
 * @example
 * await commitShards({ pool, shards: [0, 1], id, outputs, meta: () => ({ line: '42' }),
 *   commit: (sinks) => writeCheckpoint(stateDir, { ...record, id, sinks }) });
 */
export async function commitShards(step: CommitStep): Promise<void> {
  const { pool, shards, id } = step;
  await step.outputs.flush();
  const lengths = step.outputs.commit();
  const meta = step.meta(lengths);
  const prepared = await Promise.all(
    shards.map((shard) =>
      pool.call({
        type: 'checkpoint',
        shard,
        id,
        meta,
        ...(step.withChanges === true ? { withChanges: true } : {}),
      }),
    ),
  );
  const changes: Array<readonly [string, string | null]> = [];
  for (const res of prepared) {
    if (res.type !== 'checkpointed') throw new InternalError(`a shard answered ${res.type} to checkpoint`);
    if (res.changes !== undefined) changes.push(...res.changes);
  }
  await step.commit(lengths, changes);
  await Promise.all(shards.map((shard) => pool.call({ type: 'commit', shard, id })));
}
