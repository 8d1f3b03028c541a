import type { Admin } from 'kafkajs';
import type { Logger } from 'pino';
import { ConfigError, ExternalError } from '../../shared/errors.js';

/** An internal topic the job needs. */
export interface TopicSpec {
  readonly name: string;
  /** Partitions wanted when the topic is created here. */
  readonly partitions: number;
  /** `cleanup.policy=compact` (changelogs). */
  readonly compact?: boolean;
  /** Replication factor when created here. Default -1: the broker's default. */
  readonly replicationFactor?: number;
}

/**
 * Makes sure the internal topics (repartition, changelog) exist and returns each one's actual
 * partition count. They are created with the admin API where the broker supports it (changelogs
 * compacted); where it does not — the test broker refuses `CreateTopics` — the job falls back to
 * the broker's auto-creation on a metadata request (the test broker then makes 4 partitions,
 * uncompacted). An existing topic is used as it is: its partition count wins over `partitions`.
 *
 * @example
 * const parts = await ensureTopics(admin, [{ name: 'g-llm-features-changelog', partitions: 8, compact: true }], log);
 */
export async function ensureTopics(
  admin: Admin,
  specs: readonly TopicSpec[],
  logger: Logger,
): Promise<Map<string, number>> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.name));
  if (missing.length > 0) {
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.name,
          numPartitions: s.partitions,
          replicationFactor: s.replicationFactor ?? -1,
          configEntries: s.compact === true ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
        })),
      });
      logger.info({ topics: missing.map((s) => s.name) }, 'internal topics created');
    } catch (err) {
      logger.info(
        { err: String(err), topics: missing.map((s) => s.name) },
        'the broker did not create the internal topics through the admin API; relying on auto-creation',
      );
    }
  }
  return topicPartitions(
    admin,
    specs.map((s) => s.name),
  );
}

/** Partition counts of topics (a metadata request: brokers that auto-create topics will). Retries while leaders are elected. */
export async function topicPartitions(admin: Admin, names: readonly string[]): Promise<Map<string, number>> {
  let lastErr: unknown = null;
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const md = await admin.fetchTopicMetadata({ topics: [...names] });
      const out = new Map<string, number>();
      for (const t of md.topics) out.set(t.name, t.partitions.length);
      if (names.every((n) => (out.get(n) ?? 0) > 0)) return out;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 250 + attempt * 100));
  }
  throw new ExternalError(`cannot get the metadata of topics ${names.join(', ')}: ${String(lastErr)}`, {
    cause: lastErr,
  });
}

/** The source topic's partition count; a missing topic is a {@link ConfigError} (it is never auto-created here). */
export async function sourcePartitions(admin: Admin, topic: string): Promise<number> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) {
    throw new ConfigError(`--topic: no such topic "${topic}" on the brokers`, { field: '--topic' });
  }
  return (await topicPartitions(admin, [topic])).get(topic)!;
}
