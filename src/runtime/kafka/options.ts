import type { Logger } from 'pino';
import type { Topology } from '../../../topology/nodes.js';
import type { PayloadFormat } from '../../connectors/kafka/payload.js';
import type { RowSink } from '../sink.js';
import type { KafkaMetrics } from './metrics.js';
import type { DeadLetterPolicy } from '../dead-letter-policy.js';

/** What a Kafka job reads, writes and how it runs. */
export interface KafkaJobOptions {
  readonly topology: Topology;
  /** Bootstrap servers. */
  readonly brokers: readonly string[];
  /** The source topic. */
  readonly topic: string;
  /** Consumer group id; also names the internal topics (`G-TOPOLOGY-repartition`, `…-changelog`). */
  readonly group: string;
  readonly clientId?: string;
  /**
   * The attribute the source topic is keyed by (default `id`: the collector keys by event id).
   * When every keyed stage of the topology uses it, shards are the source partitions (no
   * repartition topic); otherwise records go through a repartition topic keyed by the stage's key.
   */
  readonly topicKey?: string;
  /** Partitions of the repartition and changelog topics when created here. Default 8. */
  readonly shards?: number;
  /** Local shard state and shard records; null = a temporary folder (every shard restores from the changelog). */
  readonly stateDir: string | null;
  /** Folders for per-shard NDJSON files of rows, dead letters and late events (exactly once); null = none. */
  readonly out: string | null;
  readonly deadLetters: string | null;
  readonly lateEvents: string | null;
  /** Extra sinks (online/offline stores). Closed by the job. */
  readonly rowSinks?: readonly RowSink[];
  /** Feature rows also to this topic (keyed by entity). */
  readonly outputTopic?: string | null;
  /** Dead letters also to this topic (original record, reason in headers). */
  readonly deadLetterTopic?: string | null;
  readonly format?: PayloadFormat;
  /** Confluent schema registry URL for framed payloads. */
  readonly schemaRegistry?: string | null;
  readonly checkpointIntervalMs: number;
  /** Process up to the end offsets seen at start, fire every window, and exit. */
  readonly stopAtEnd: boolean;
  /** Source partitions silent this long are left out of the watermark. Default: the topology's windows' `idleTimeoutMs`, else never. */
  readonly idleTimeoutMs?: number;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** Fetch wait when a partition has no data. Default 500 ms (tests: ~100). */
  readonly maxWaitTimeMs?: number;
  /** Fetch size per partition. Default 1 MiB. */
  readonly maxBytesPerPartition?: number;
  /** Source messages decoded per repartition frame. Default 1000. */
  readonly chunkRecords?: number;
  /**
   * Most frames a repartition partition may hold beyond where its shard is before the source
   * stage pauses (it resumes at half). Bounds the repartition backlog (topic retention). Default 64.
   */
  readonly maxRepartitionLag?: number;
  /**
   * Compression of the repartition frames. Default `none` (as Kafka Streams' internal topics):
   * the topic is internal and short-lived, and gzip cost the source stage about a third of its
   * time in `bench:kafka`; `gzip` where broker bandwidth is the scarce part.
   */
  readonly repartitionCompression?: 'none' | 'gzip';
  /** Serve `/metrics`, `/healthz`, `/readyz` on this port. */
  readonly metricsPort?: number | null;
  readonly metrics?: KafkaMetrics;
  /** Told the partitions of each join: source partitions and shards (the web UI shows them). */
  readonly onAssignment?: (a: {
    readonly source: readonly number[];
    readonly shards: readonly number[];
  }) => void;
  /** The run's options of each provider the topology's maps need, by provider name. */
  readonly providerOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Worker threads of the pool (decode on any, shard actors pinned). Default min(4, cores). */
  readonly workers?: number;
  readonly logger: Logger;
  /** Aborting stops gracefully: finish the current batch, checkpoint, leave the group. */
  readonly signal?: AbortSignal;
  /**
   * Opt-in: stop (gracefully, checkpointed, then fail with an InputError) when the dead letters
   * of this member's source records are more than `maxShare` of a window of `window` records.
   * Absent or null (the default): dead letters are logged, counted and the member goes on.
   */
  readonly deadLetterPolicy?: DeadLetterPolicy | null;
}
