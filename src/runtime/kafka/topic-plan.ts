/**
 * Where a Kafka job's shards live: `direct` when every keyed stage of the topology is keyed by
 * the attribute the source topic is keyed by (shard s = source partition s, no repartition
 * topic), else `repartition` (`G-TOPOLOGY-repartition`, `--shards` partitions). The changelog
 * (`G-TOPOLOGY-changelog`, compacted) has one partition per shard. Creates the internal topics
 * when missing and refuses counts that do not match, naming the flag.
 *
 * @example
 * const plan = await planShardTopics(admin, { topic: 'events', group: 'g', topology }, log);
 * plan.mode; // 'repartition'
 */
import type { Admin } from 'kafkajs';
import type { Logger } from 'pino';
import type { Topology } from '../../../topology/nodes.js';
import { planTopology } from '../../../topology/plan.js';
import { ensureTopics, sourcePartitions } from '../../connectors/kafka/topics.js';
import { ConfigError } from '../../shared/errors.js';

/** Internal topic names of a job. */
export function internalTopics(group: string, topology: string): { repartition: string; changelog: string } {
  return { repartition: `${group}-${topology}-repartition`, changelog: `${group}-${topology}-changelog` };
}

/** The topics a job reads and writes its shards through. */
export interface ShardTopicPlan {
  readonly mode: 'repartition' | 'direct';
  readonly sourcePartitions: number;
  /** The topic shards read: the source topic (direct) or the repartition topic. */
  readonly shardTopic: string;
  readonly changelogTopic: string;
  readonly shards: number;
}

/** Plans (and creates where missing) the shard topics of a job; see the module comment. */
export async function planShardTopics(
  admin: Admin,
  o: {
    readonly topic: string;
    readonly group: string;
    readonly topology: Topology;
    readonly topicKey?: string;
    readonly shards?: number;
  },
  log: Logger,
): Promise<ShardTopicPlan> {
  const partitions = await sourcePartitions(admin, o.topic);
  if (partitions >= 4096) throw new ConfigError('--topic: more than 4095 partitions are not supported');
  const topicKey = o.topicKey ?? 'id';
  const mode = planTopology(o.topology).keyed.every((k) => k.keyBy.key === topicKey)
    ? 'direct'
    : 'repartition';
  const names = internalTopics(o.group, o.topology.name);
  const wanted = o.shards ?? 8;
  const specs =
    mode === 'direct'
      ? [{ name: names.changelog, partitions, compact: true }]
      : [
          { name: names.repartition, partitions: wanted },
          { name: names.changelog, partitions: wanted, compact: true },
        ];
  const parts = await ensureTopics(admin, specs, log);
  const shards = mode === 'direct' ? partitions : parts.get(names.repartition)!;
  const changelogParts = parts.get(names.changelog)!;
  if (changelogParts !== shards) {
    throw new ConfigError(
      `changelog topic ${names.changelog} has ${changelogParts} partitions but there are ${shards} shards (` +
        `${mode === 'direct' ? `partitions of ${o.topic}` : `partitions of ${names.repartition}`}); create both with the same count`,
      { field: '--shards' },
    );
  }
  if (mode === 'repartition' && shards !== wanted) {
    log.warn(
      { topic: names.repartition, partitions: shards, wanted },
      'the repartition topic already exists (or was auto-created) with another partition count; using it',
    );
  }
  return {
    mode,
    sourcePartitions: partitions,
    shardTopic: mode === 'direct' ? o.topic : names.repartition,
    changelogTopic: names.changelog,
    shards,
  };
}
