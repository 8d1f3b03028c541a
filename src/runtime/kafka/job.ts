import { addProviderStats } from '../../../operators/providers.js';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Admin,
  CompressionTypes,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
  type Producer,
} from 'kafkajs';
import type { Logger } from 'pino';
import type { Topology } from '../../../topology/nodes.js';
import { ChangelogReader } from '../../connectors/kafka/changelog.js';
import { produceDeadLetters } from '../../connectors/kafka/dead-letter-topic.js';
import { decodeFrame, encodeFrame, type RepartitionFrame } from '../../connectors/kafka/frame.js';
import { PayloadDecoder, type PayloadFormat } from '../../connectors/kafka/payload.js';
import { KafkaRowSink } from '../../connectors/kafka/row-sink.js';
import { ConfigError, ExternalError, FeaturestreamError, InternalError } from '../../shared/errors.js';
import { createShardPool, type ShardPool } from '../shard-pool.js';
import type { RowSink } from '../sink.js';
import { kafkaClient } from '../../connectors/kafka/client.js';
import { checkKafkaTls } from '../../connectors/kafka/security.js';
import { connectionSettings } from '../../shared/connections.js';
import { restartWhenKafkaJsGivesUp } from '../../connectors/kafka/consumer-restart.js';
import { createKafkaMetrics, type KafkaMetrics, serveMetrics } from './metrics.js';
import { restoreShards, type ShardContext, type ShardTask } from './shard-task.js';
import { type OffsetCommit, OffsetCommitter } from './offset-committer.js';
import { planShardTopics } from './topic-plan.js';
import { heldTotals, type KafkaRunSummary, summarize } from './summary.js';
import { decodeShardMeta, decodeSourceMeta, encodeShardMeta, encodeSourceMeta } from './offset-metadata.js';
import { type DecodeStage, lateBoundOf, type SourceChunk, SourceTask } from './source-task.js';
import { FrameOutbox } from './frame-outbox.js';
import { ClusterContact } from './cluster-contact.js';
import { SharedLock } from './shared-lock.js';
import { type DeadLetterPolicy, DeadLetterWindow, deadLetterShareError } from '../dead-letter-policy.js';

export type { KafkaRunSummary } from './summary.js';
export { internalTopics } from './topic-plan.js';

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

interface ShardSlot {
  readonly shard: number;
  task: ShardTask | null;
  ready: Promise<ShardTask> | null;
}

/** A rebalance noticed inside a batch: the batch ends, every shard checkpoints, kafkajs rejoins. */
class RevokeCheckpoint extends Error {
  constructor(readonly rebalance: unknown) {
    super('rebalance: checkpoint before rejoining');
  }
}

const isRebalancing = (e: unknown): boolean => {
  const t = (e as { type?: unknown } | null)?.type;
  return t === 'REBALANCE_IN_PROGRESS' || t === 'NOT_COORDINATOR_FOR_GROUP' || t === 'ILLEGAL_GENERATION';
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs a topology over a Kafka topic as one member of a consumer group; see
 * `docs/operations.md` and {@link KafkaJob} for how the work is split and kept exactly once.
 *
 * @example
 * const summary = await runKafkaJob({ topology: llmFeaturesTopology(), brokers: ['kafka:9092'],
 *   topic: 'feedback-events', group: 'features', stateDir: '/var/lib/featurestream', out: null,
 *   deadLetters: null, lateEvents: null, checkpointIntervalMs: 5000, stopAtEnd: false, logger });
 */
export async function runKafkaJob(opts: KafkaJobOptions): Promise<KafkaRunSummary> {
  return new KafkaJob(opts).run();
}

/**
 * One member of a Kafka job.
 *
 * **Topology of the job.** The source topic's partitions are read by the group. When a keyed
 * stage's key differs from the topic's key, the *source stage* of each source partition decodes,
 * filters and maps its records and sends them, in frames, to the partition `hash(key) mod P` of
 * the repartition topic; shard s is partition s of that topic and is read by the group too. When
 * every key equals the topic's key, shard s is source partition s.
 *
 * **Exactly once.** Shard state, positions and output lengths are checkpointed together: locally
 * (LevelDB) and to the shard's changelog partition (entries + marker); the marker is the commit
 * point. Frames carry source offsets, and each shard remembers per source partition the last one
 * it folded in, so frames sent again after a crash (the source stage is at least once: it
 * commits its offsets after its frames are acknowledged) change nothing. Group offsets are
 * committed after each checkpoint; they only say where to resume reading.
 *
 * **Rebalances.** Processing happens inside kafkajs' `eachBatch`, and kafkajs rejoins the group
 * only between batches, so when it does this member is idle. A rebalance noticed inside a batch
 * (heartbeat) checkpoints every shard before the batch returns (revoke). After the join, lost
 * shards are closed without writing anything (the new owner restores them from the changelog;
 * what was not checkpointed is redone) and new ones are restored before they process anything.
 */
export class KafkaJob {
  private readonly log: Logger;
  private readonly metrics: KafkaMetrics;
  private readonly kafka: Kafka;
  private admin!: Admin;
  private producer!: Producer;
  /** Frames to the repartition topic, several source batches' per produce request. */
  private outbox!: FrameOutbox;
  private consumer!: Consumer;
  private readonly lock = new SharedLock();
  private readonly repartitionCompression: CompressionTypes;
  /** A shard finished its bounded run in a batch: checkpoint once the batch is done. */
  private checkpointWanted = false;
  private readonly sources = new Map<number, SourceTask>();
  private readonly shards = new Map<number, ShardSlot>();
  /** Per shard, the chain of restore/close operations on its local state. */
  private readonly shardOps = new Map<number, Promise<unknown>>();
  private readonly decoder: PayloadDecoder;
  private pool: ShardPool | null = null;
  private stage!: DecodeStage;
  private readonly provided: Record<string, { keys: number; cacheHits: number }> = {};
  private mode: 'repartition' | 'direct' = 'repartition';
  private sourceTopic: string;
  private shardTopic = '';
  private changelogTopic = '';
  private partitionsN = 0;
  private shardsP = 0;
  private endOffsets: number[] | null = null;
  private ctx!: ShardContext;
  private stateDir = '';
  private tempStateDir: string | null = null;
  private rowSinks: RowSink[] = [];
  private stopping = false;
  /** Stopping: the batch in hand did not let the final checkpoint in within its wait. */
  private finalGaveUp = false;
  private joined = false;
  /** The group consumer crashed and has not rejoined yet (readiness is false meanwhile). */
  private consumerDown = false;
  /** When the group consumer last heard from the cluster (readiness is false past the session timeout). */
  private readonly contact: ClusterContact;
  private restoring = 0;
  private lastCheckpoint = performance.now();
  private lastDonePoll = 0;
  private lastRevoke = Number.NEGATIVE_INFINITY;
  private failure: unknown = null;
  /** The opt-in dead-letter check over windows of source records, and the error it stopped with. */
  private readonly dlWindow: DeadLetterWindow | null;
  private dlStopped: Error | null = null;
  private reader: ChangelogReader | null = null;
  /** Known end of each repartition partition, and committed positions of shards held elsewhere. */
  private readonly shardHigh = new Map<number, number>();
  private readonly shardCommitted = new Map<number, number>();
  private sourcesPaused = false;
  private lastLagPoll = 0;
  private readonly maxLag: number;
  private readerStarted: Promise<void> = Promise.resolve();
  private finish!: (by: 'end' | 'signal') => void;
  private fail!: (e: unknown) => void;
  private readonly counters = { events: 0, checkpoints: 0, restored: 0, rebalances: 0 };
  private readonly committer: OffsetCommitter;
  private readonly retiredCounters: ShardTask['counters'][] = [];
  private held: KafkaRunSummary['heldTotals'] = {
    shards: [],
    deadLettersByReason: {},
    lateByWindow: {},
    rowsByGroup: {},
    invalidValues: {},
  };

  constructor(private readonly opts: KafkaJobOptions) {
    this.log = opts.logger;
    this.metrics = opts.metrics ?? createKafkaMetrics();
    this.sourceTopic = opts.topic;
    this.maxLag = opts.maxRepartitionLag ?? 64;
    this.repartitionCompression =
      opts.repartitionCompression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    // A commit the brokers keep refusing goes on in the background, never holding the lock
    // (and so the batches and their heartbeats) for longer than a fraction of the session.
    this.committer = new OffsetCommitter(opts.logger, {
      waitMs: Math.min(1000, Math.floor((opts.sessionTimeoutMs ?? 30_000) / 5)),
      onCommitted: (c) => this.offsetCommitted(c),
    });
    this.dlWindow =
      (opts.deadLetterPolicy ?? null) === null ? null : new DeadLetterWindow(opts.deadLetterPolicy!);
    this.contact = new ClusterContact(opts.sessionTimeoutMs ?? 30_000, opts.logger);
    if (opts.brokers.length === 0)
      throw new ConfigError('--kafka needs at least one broker', { field: '--kafka' });
    if (opts.group.length === 0) throw new ConfigError('--group must not be empty', { field: '--group' });
    this.decoder = new PayloadDecoder({
      format: opts.format ?? 'auto',
      registryUrl: opts.schemaRegistry ?? null,
    });
    this.kafka = kafkaClient({
      clientId: opts.clientId ?? `featurestream-${hostname()}-${process.pid}`,
      brokers: opts.brokers,
      retry: { initialRetryTime: 200, retries: 10, maxRetryTime: 5000 },
    });
  }

  async run(): Promise<KafkaRunSummary> {
    const started = performance.now();
    const o = this.opts;
    const done = new Promise<'end' | 'signal'>((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
    });
    done.catch(() => undefined);
    const onAbort = () => this.finish('signal');
    if (o.signal?.aborted === true) return this.summary('signal', started);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    let server: Awaited<ReturnType<typeof serveMetrics>> | null = null;
    let housekeeping: NodeJS.Timeout | null = null;
    let contactCheck: NodeJS.Timeout | null = null;
    let stoppedBy: 'end' | 'signal' = 'signal';
    let graceful = false;
    try {
      await this.setUp();
      if (o.metricsPort !== undefined && o.metricsPort !== null) {
        server = await serveMetrics(o.metricsPort, this.metrics.registry, {
          live: () => this.failure === null,
          ready: () => this.joined && !this.consumerDown && this.contact.fresh && this.restoring === 0,
        });
      }
      await this.startConsumer();
      // Not under the lock: a batch stuck on a broker that is gone holds it.
      contactCheck = setInterval(() => {
        if (this.joined) this.contact.check();
      }, 1000);
      housekeeping = setInterval(() => {
        this.lock
          .run(() => this.housekeep())
          .catch((err: unknown) => this.log.warn({ err: String(err) }, 'housekeeping failed; will retry'));
      }, 200);
      stoppedBy = await done;
      graceful = true;
    } finally {
      if (housekeeping !== null) clearInterval(housekeeping);
      if (contactCheck !== null) clearInterval(contactCheck);
      o.signal?.removeEventListener('abort', onAbort);
      await this.tearDown(graceful);
      server?.close();
    }
    // Stopped by the dead-letter policy: checkpointed like a SIGTERM, then a failure (exit 1).
    if (this.dlStopped !== null) throw this.dlStopped;
    return this.summary(stoppedBy, started);
  }

  private summary(stoppedBy: 'end' | 'signal', started: number): KafkaRunSummary {
    const open = [...this.shards.values()].flatMap((s) =>
      s.task !== null && !s.task.closed ? [s.task.countersSinceOpen()] : [],
    );
    return summarize(
      [...this.retiredCounters, ...open],
      {
        mode: this.mode,
        shards: this.shardsP,
        events: this.counters.events,
        checkpoints: this.counters.checkpoints,
        restored: this.counters.restored,
        rebalances: this.counters.rebalances,
        provided: this.provided,
      },
      this.held,
      stoppedBy,
      (performance.now() - started) / 1000,
    );
  }

  private async setUp(): Promise<void> {
    const o = this.opts;
    // kafkajs retries an unreachable cluster for ~45 s before it fails: say what is going on.
    this.log.info({ brokers: o.brokers, topic: o.topic, group: o.group }, 'connecting to kafka');
    const connecting = performance.now();
    const stillConnecting = setInterval(() => {
      this.log.warn(
        { brokers: o.brokers, waitedMs: Math.round(performance.now() - connecting) },
        'still connecting to kafka: no broker has answered yet (kafkajs retries for about 45 s)',
      );
    }, 10_000);
    try {
      // A certificate problem fails here at once, naming the broker (kafkajs would retry it).
      await checkKafkaTls(o.brokers, connectionSettings().kafka);
      this.admin = this.kafka.admin();
      await this.admin.connect();
      this.producer = this.kafka.producer({
        allowAutoTopicCreation: true,
        maxInFlightRequests: 1,
        retry: { initialRetryTime: 200, retries: 12, maxRetryTime: 5000 },
      });
      await this.producer.connect();
    } catch (err) {
      if (err instanceof ExternalError && !err.retryable) throw err;
      const seconds = Math.round((performance.now() - connecting) / 1000);
      throw new ExternalError(
        `--kafka ${o.brokers.join(',')}: could not connect in ${seconds} s (${err instanceof Error ? err.message : String(err)}): check the addresses and that the brokers are up, then run the same command again`,
        { field: '--kafka', cause: err },
      );
    } finally {
      clearInterval(stillConnecting);
    }

    const plan = await planShardTopics(this.admin, o, this.log);
    this.partitionsN = plan.sourcePartitions;
    this.mode = plan.mode;
    this.changelogTopic = plan.changelogTopic;
    this.shardTopic = plan.shardTopic;
    this.shardsP = plan.shards;
    this.outbox = new FrameOutbox(this.producer, this.shardTopic, this.repartitionCompression, (n) => {
      this.metrics.repartitionFrames.inc(n);
      this.metrics.repartitionRequests.inc();
    });
    if (o.stopAtEnd) {
      const offs = await this.admin.fetchTopicOffsets(o.topic);
      this.endOffsets = new Array<number>(this.partitionsN).fill(0);
      for (const x of offs) this.endOffsets[x.partition] = Number(x.high);
    }

    if (o.stateDir === null) {
      this.tempStateDir = mkdtempSync(join(tmpdir(), 'featurestream-kafka-'));
      this.stateDir = this.tempStateDir;
    } else {
      this.stateDir = o.stateDir;
      mkdirSync(this.stateDir, { recursive: true });
    }
    for (const d of [o.out, o.deadLetters, o.lateEvents]) if (d !== null) mkdirSync(d, { recursive: true });
    this.rowSinks = [...(o.rowSinks ?? [])];
    if ((o.outputTopic ?? null) !== null) this.rowSinks.push(new KafkaRowSink(this.producer, o.outputTopic!));

    const windows = o.topology.nodes.filter((n) => n.kind === 'window');
    const idleFromTopology = Math.min(
      ...windows.map((w) => (w as { idleTimeoutMs?: number }).idleTimeoutMs ?? Number.POSITIVE_INFINITY),
    );
    const idleTimeoutMs = o.idleTimeoutMs ?? idleFromTopology;
    // The same pool as a file run: decode and the stateless chains on any worker, shards pinned.
    const workers = o.workers ?? Math.min(4, availableParallelism());
    this.pool = createShardPool(workers, this.shardsP);
    this.stage = {
      pool: this.pool,
      runId: `kafka-${process.pid}-${Date.now()}`,
      topologyJson: JSON.stringify(o.topology),
      providerOptions: o.providerOptions ?? {},
      rawAll: Number.isFinite(idleTimeoutMs),
      lateBound: lateBoundOf(o.topology),
    };
    this.ctx = {
      topology: o.topology,
      sourceTopic: o.topic,
      sourcePartitions: this.partitionsN,
      mode: this.mode,
      changelogTopic: this.changelogTopic,
      stateDir: this.stateDir,
      outDir: o.out,
      deadLetterDir: o.deadLetters,
      lateDir: o.lateEvents,
      rowSinks: this.rowSinks,
      idleTimeoutMs,
      stopAtEnd: o.stopAtEnd,
      producer: this.producer,
      logger: this.log,
      owner: `${hostname()}/${process.pid}`,
      metrics: this.metrics,
      pool: this.pool,
    };
    this.log.info(
      {
        mode: this.mode,
        sourcePartitions: this.partitionsN,
        shards: this.shardsP,
        shardTopic: this.shardTopic,
        changelog: this.changelogTopic,
        endOffsets: this.endOffsets,
      },
      'kafka job set up',
    );
  }

  private async startConsumer(): Promise<void> {
    const o = this.opts;
    // The changelog reader joins its own group while the main consumer joins the job's.
    this.reader = new ChangelogReader(this.kafka, this.changelogTopic, {
      groupPrefix: o.group,
      maxWaitTimeInMs: Math.min(o.maxWaitTimeMs ?? 500, 250),
      sessionTimeout: o.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: o.heartbeatIntervalMs ?? 3000,
      logger: this.log,
    });
    this.readerStarted = this.reader.start();
    this.readerStarted.catch((err: unknown) => this.fatal(err));
    this.consumer = this.kafka.consumer({
      groupId: o.group,
      sessionTimeout: o.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: o.heartbeatIntervalMs ?? 3000,
      maxWaitTimeInMs: o.maxWaitTimeMs ?? 500,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 1 << 20,
      allowAutoTopicCreation: false,
      retry: {
        initialRetryTime: 300,
        retries: 8,
        maxRetryTime: 10_000,
        restartOnFailure: async (e) => {
          let cause: unknown = e;
          while (cause instanceof Error && cause.cause !== undefined) cause = cause.cause;
          return !(cause instanceof FeaturestreamError && !cause.retryable);
        },
      },
    });
    const c = this.consumer;
    // Every answer a broker gave the consumer (its connect, fetches, heartbeats, joins, commits).
    // Not FETCH: kafkajs reports a fetch with every partition paused without asking any broker.
    c.on(c.events.REQUEST, () => this.contact.seen());
    c.on(c.events.GROUP_JOIN, (e) => {
      try {
        this.onJoin(e.payload.memberAssignment);
      } catch (err) {
        this.fatal(err);
      }
    });
    c.on(c.events.CRASH, (e) => {
      this.consumerDown = true;
      this.metrics.consumerCrashes.inc();
      this.log.warn({ err: String(e.payload.error), restart: e.payload.restart }, 'kafka consumer crashed');
    });
    restartWhenKafkaJsGivesUp(c, {
      run: () => c.run(this.runConfig),
      stopping: () => this.stopping,
      onRestart: (attempt) => this.log.info({ attempt }, 'restarting the kafka consumer'),
      onFatal: (err) => this.fatal(err),
    });
    await c.connect();
    const topics = this.mode === 'direct' ? [this.sourceTopic] : [this.sourceTopic, this.shardTopic];
    await c.subscribe({ topics, fromBeginning: true });
    await c.run(this.runConfig);
  }

  private readonly runConfig = {
    autoCommit: false,
    eachBatchAutoResolve: false,
    // Several partitions' batches at once (see SharedLock); kafkajs keeps each partition's in order.
    partitionsConsumedConcurrently: 8,
    eachBatch: (payload: EachBatchPayload) =>
      this.onBatchLocked(payload).then(async () => {
        const interval = () => performance.now() - this.lastCheckpoint >= this.opts.checkpointIntervalMs;
        if ((this.checkpointWanted || interval()) && !this.stopping)
          await this.lock.run(async () => {
            const wanted = this.checkpointWanted;
            this.checkpointWanted = false;
            // Every shard at the interval; otherwise only those that just finished a bounded run
            // (the others go on: checkpointing them too would only pause them).
            if (interval()) await this.checkpointAll();
            else if (wanted) await this.checkpointAll((task) => task.done);
          });
      }),
  };

  /**
   * A batch under the lock: shared in repartition mode, exclusive in direct mode. A rebalance
   * noticed in the batch checkpoints every shard (exclusive) before kafkajs rejoins.
   */
  private async onBatchLocked(payload: EachBatchPayload): Promise<void> {
    // Repartition mode: a source batch touches only its source task, a shard batch only its shard.
    const sharedOk = this.mode === 'repartition';
    const body = async () => {
      try {
        await this.onBatch(payload);
      } catch (err) {
        if (err instanceof RevokeCheckpoint || this.stopping) throw err;
        if (err instanceof FeaturestreamError && !err.retryable) {
          // Ours and final (lost frames, a bug): retrying the batch cannot help.
          this.fatal(err);
          return;
        }
        if (!isRebalancing(err)) {
          const { topic, partition } = payload.batch;
          this.log.warn({ topic, partition, err: String(err) }, 'batch failed; kafkajs retries it');
        }
        throw err;
      }
    };
    try {
      await (sharedOk ? this.lock.shared(body) : this.lock.run(body));
    } catch (err) {
      if (!(err instanceof RevokeCheckpoint)) throw err;
      await this.lock.run(() => this.checkpointAll());
      throw err.rebalance;
    }
  }

  private fatal(err: unknown): void {
    this.failure ??= err;
    this.fail(err);
  }

  // ---- assignment -------------------------------------------------------------------------

  private onJoin(assignment: Record<string, number[]>): void {
    // Leaving: the group rebalanced because a member (maybe this one) left; nothing to take on.
    if (this.stopping) return;
    this.joined = true;
    this.consumerDown = false;
    // Offsets asked for under the last assignment: the next checkpoint asks for this one's.
    this.committer.forgetWanted();
    this.counters.rebalances++;
    this.metrics.rebalances.inc();
    const src = new Set(assignment[this.sourceTopic] ?? []);
    const shd = this.mode === 'direct' ? src : new Set(assignment[this.shardTopic] ?? []);
    this.metrics.assigned.set({ topic: this.sourceTopic }, src.size);
    if (this.mode === 'repartition') this.metrics.assigned.set({ topic: this.shardTopic }, shd.size);
    this.log.info({ source: [...src], shards: [...shd] }, 'partitions assigned');
    this.opts.onAssignment?.({
      source: [...src].sort((a, b) => a - b),
      shards: [...shd].sort((a, b) => a - b),
    });
    // Start unpaused; backpressure and ends of input pause again as needed.
    this.sourcesPaused = false;
    if (src.size > 0) this.consumer.resume([{ topic: this.sourceTopic, partitions: [...src] }]);

    // Source partitions: the consumer resumes from the committed offsets; so do we.
    for (const [p, t] of this.sources) {
      if (!src.has(p)) {
        this.sources.delete(p);
      } else if (this.mode === 'repartition') {
        t.resetToCommitted();
        if (t.committed !== null)
          this.consumer.seek({ topic: this.sourceTopic, partition: p, offset: String(t.committed.offset) });
      }
    }
    const freshSources = [...src].filter((p) => !this.sources.has(p));
    const end = (p: number) => (this.endOffsets === null ? null : this.endOffsets[p]!);
    for (const p of freshSources) this.sources.set(p, new SourceTask(p, this.sourceTopic, end(p)));
    if (this.mode === 'repartition' && freshSources.length > 0) {
      const ready = this.loadCommitted(freshSources);
      ready.catch(() => undefined);
      for (const p of freshSources) this.sources.get(p)!.ready = ready;
    }

    // Shards: close the lost ones (no writes: the new owner restores from the changelog); check
    // the kept ones (another member may have held them in between); restore the new ones.
    const retained = new Map<number, ShardTask>();
    const again: number[] = [];
    for (const [s, slot] of this.shards) {
      if (!shd.has(s)) {
        this.shards.delete(s);
        this.retireSlot(slot);
      } else if (slot.task !== null) {
        retained.set(s, slot.task);
        slot.task = null;
      } else if (slot.ready === null) {
        again.push(s);
      }
    }
    const freshShards = [...shd].filter((s) => !this.shards.has(s));
    for (const s of freshShards) this.shards.set(s, { shard: s, task: null, ready: null });
    const todo = [...retained.keys(), ...again, ...freshShards];
    if (todo.length > 0) this.startRestore(todo, retained);
  }

  private retireSlot(slot: ShardSlot): void {
    const s = slot.shard;
    const held = slot.task;
    const ready = slot.ready;
    const closing = this.serialShard(s, async () => {
      const task = held ?? (await ready?.catch(() => null)) ?? null;
      if (task !== null && !task.closed) {
        this.retiredCounters.push(task.countersSinceOpen());
        await task.close();
      }
    });
    closing.catch((err: unknown) => this.log.warn({ shard: s, err: String(err) }, 'closing a shard failed'));
    slot.task = null;
  }

  private serialShard<T>(s: number, fn: () => Promise<T>): Promise<T> {
    const prev = this.shardOps.get(s) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.shardOps.set(
      s,
      next.catch(() => undefined),
    );
    return next;
  }

  /**
   * Restores shards in one changelog session; each slot gets its own promise. Shards this member
   * kept across a rebalance (`retained`) keep their in-memory state unless another member wrote
   * to their changelog since (they were someone else's in between): then they are restored too.
   */
  private startRestore(shards: number[], retained = new Map<number, ShardTask>()): void {
    const slots = shards.map((s) => this.shards.get(s)!);
    this.restoring += shards.length;
    // Wait for earlier operations on these shards' local state (e.g. a close in progress).
    const previous = Promise.all(shards.map((s) => this.shardOps.get(s) ?? Promise.resolve()));
    const all = previous.then(async () => {
      const out = new Map<number, ShardTask>();
      const toRestore = shards.filter((s) => !retained.has(s));
      try {
        if (retained.size > 0) {
          const ends = await this.admin.fetchTopicOffsets(this.changelogTopic);
          const high = new Map(ends.map((o) => [o.partition, Number(o.high)]));
          for (const [s, task] of retained) {
            if ((high.get(s) ?? 0) <= task.changelogEnd) {
              out.set(s, task);
              continue;
            }
            this.log.info({ shard: s }, 'another member wrote this shard since; restoring it');
            this.retiredCounters.push(task.countersSinceOpen());
            retained.delete(s);
            await task.close();
            toRestore.push(s);
          }
        }
      } catch (err) {
        for (const task of retained.values()) {
          this.retiredCounters.push(task.countersSinceOpen());
          await task.close().catch(() => undefined);
        }
        throw err;
      }
      if (toRestore.length > 0) {
        const restored = await restoreShards(this.ctx, toRestore, {
          admin: this.admin,
          reader: this.reader!,
        });
        this.counters.restored += restored.size;
        for (const [s, t] of restored) out.set(s, t);
      }
      return out;
    });
    for (const s of shards)
      this.shardOps.set(
        s,
        all.catch(() => undefined),
      );
    all.then(
      () => {
        this.restoring -= shards.length;
      },
      (err: unknown) => {
        this.restoring -= shards.length;
        this.log.warn({ shards, err: String(err) }, 'restore failed; will retry on the next batch');
      },
    );
    for (const slot of slots) {
      const mine = all.then((tasks) => {
        const task = tasks.get(slot.shard)!;
        if (this.shards.get(slot.shard) !== slot) {
          // Lost while restoring.
          if (!task.closed) this.retiredCounters.push(task.countersSinceOpen());
          this.serialShard(slot.shard, () => task.close()).catch(() => undefined);
          throw new InternalError(`shard ${slot.shard} was revoked while restoring`);
        }
        slot.task = task;
        this.seekShard(slot.shard, task);
        return task;
      });
      mine.catch(() => {
        if (slot.task === null && this.shards.get(slot.shard) === slot) slot.ready = null;
      });
      slot.ready = mine;
    }
  }

  /** Resumes reading a shard's input where its state is (records before it are in the state). */
  private seekShard(s: number, task: ShardTask): void {
    try {
      this.consumer.seek({ topic: this.shardTopic, partition: s, offset: String(task.position) });
    } catch (err) {
      this.log.debug({ shard: s, err: String(err) }, 'seek skipped');
    }
  }

  private async loadCommitted(partitions: number[]): Promise<void> {
    const offs = await this.admin.fetchOffsets({ groupId: this.opts.group, topics: [this.sourceTopic] });
    const byPartition = new Map((offs[0]?.partitions ?? []).map((x) => [x.partition, x]));
    for (const p of partitions) {
      const t = this.sources.get(p);
      if (t === undefined) continue;
      const c = byPartition.get(p);
      const offset = c === undefined ? -1 : Number(c.offset);
      // No metadata, or someone else's: start with an unknown clock.
      const m = decodeSourceMeta(c?.metadata);
      t.init(offset >= 0 ? offset : null, m?.clock ?? Number.NEGATIVE_INFINITY, m?.eof ?? false);
      this.committer.remember(this.sourceTopic, p, offset, c?.metadata ?? null);
    }
  }

  /** Waits for a promise while keeping the group session alive. */
  private async withHeartbeat<T>(p: Promise<T>, heartbeat: () => Promise<void>): Promise<T> {
    for (;;) {
      const r = await Promise.race([p.then((v) => ({ v })), sleep(1000).then(() => null)]);
      if (r !== null) return r.v;
      // Stopping: the batch gives up waiting (a restore may wait on brokers that do not answer)
      // so that the final checkpoint gets the lock; what it did not do is redone after a restart.
      if (this.stopping)
        throw new ExternalError('stopping: the batch in hand is given up', { retryable: true });
      await heartbeat();
    }
  }

  private shardTask(s: number, heartbeat: () => Promise<void>): Promise<ShardTask> | null {
    const slot = this.shards.get(s);
    if (slot === undefined) return null;
    if (slot.task !== null) return Promise.resolve(slot.task);
    if (slot.ready === null) this.startRestore([s]);
    return this.withHeartbeat(slot.ready!, heartbeat);
  }

  // ---- processing -------------------------------------------------------------------------

  private async onBatch({
    batch,
    heartbeat,
    isRunning,
    isStale,
    resolveOffset,
  }: EachBatchPayload): Promise<void> {
    if (this.stopping || !isRunning() || isStale()) return;
    try {
      await heartbeat();
    } catch (err) {
      if (isRebalancing(err)) {
        // Revoke: whatever we lose, its state is in the changelog before we rejoin.
        const now = performance.now();
        if (now - this.lastRevoke > 1000) this.log.info('rebalance: checkpointing before rejoining');
        this.lastRevoke = now;
        throw new RevokeCheckpoint(err);
      }
      throw err;
    }
    const resolve = (offset: number) => resolveOffset(String(offset));
    if (batch.topic === this.sourceTopic) {
      await this.onSourceBatch(
        batch.partition,
        batch.messages,
        Number(batch.highWatermark),
        heartbeat,
        resolve,
      );
    } else if (batch.topic === this.shardTopic) {
      this.shardHigh.set(batch.partition, Number(batch.highWatermark));
      await this.onShardBatch(batch.partition, batch.messages, heartbeat);
      resolve(Number(batch.lastOffset()));
      this.maybeResumeSources();
    }
    const lag = Number(batch.highWatermark) - (Number(batch.lastOffset()) + 1);
    this.metrics.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, lag));
  }

  private async onSourceBatch(
    p: number,
    messages: KafkaMessage[],
    highWatermark: number,
    heartbeat: () => Promise<void>,
    resolve: (offset: number) => void,
  ): Promise<void> {
    const t = this.sources.get(p);
    if (t === undefined) return;
    if (this.mode === 'direct') {
      await this.onDirectBatch(t, messages, heartbeat, resolve);
      return;
    }
    await this.withHeartbeat(t.ready, heartbeat);
    // Repartition mode: gather while the partition has more to read, up to a chunk, so frames
    // are large; kafkajs reads on (the gathered messages are re-read from the committed offset
    // after a crash or a rebalance, as any not yet sent).
    t.gather(messages);
    if (messages.length > 0) resolve(Number(messages[messages.length - 1]!.offset));
    const more = t.readTo < highWatermark && (t.end === null || t.readTo < t.end);
    if (more && t.gathered < (this.opts.chunkRecords ?? 1000)) return;
    await this.sendGathered(t);
  }

  /**
   * Decodes a source partition's gathered messages a chunk at a time and sends each chunk's
   * frames; stops (pausing the sources) while the shards are more than `maxRepartitionLag`
   * frames behind — what is left waits, gathered, for the next batch or housekeeping.
   */
  private async sendGathered(t: SourceTask): Promise<void> {
    const size = this.opts.chunkRecords ?? 1000;
    while (t.gathered > 0) {
      if (this.backlogged(this.maxLag)) {
        this.pauseSources();
        return;
      }
      // All that is gathered (a chunk and the batch that completed it) in one decode, within reason.
      const chunk = await t.decode(t.peek(2 * size), this.decoder, this.stage, this.shardsP);
      addProviderStats(this.provided, chunk.provided);
      await this.sendFrames(t.partition, chunk.frames);
      await this.chunkDone(t, chunk);
    }
    if (t.eof) this.consumer.pause([{ topic: this.sourceTopic, partitions: [t.partition] }]);
  }

  /** A source partition's frames, one per shard, to the repartition topic; notes the partitions' ends. */
  private async sendFrames(p: number, frames: readonly RepartitionFrame[]): Promise<void> {
    const ends = await this.outbox.send(
      frames.map((f, s) => ({ partition: s, key: String(p), value: encodeFrame(f) })),
    );
    for (const [s, high] of ends) if (high > (this.shardHigh.get(s) ?? 0)) this.shardHigh.set(s, high);
  }

  /** A chunk's records are with their shards: its dead letters to their topic, then move on. */
  private async chunkDone(t: SourceTask, chunk: SourceChunk): Promise<void> {
    if ((this.opts.deadLetterTopic ?? null) !== null && chunk.deadLetters.length > 0) {
      await produceDeadLetters(this.producer, this.opts.deadLetterTopic!, chunk.deadLetters);
    }
    t.advance(chunk);
    this.counters.events += chunk.events;
    this.metrics.events.inc(chunk.events);
    const over = this.dlWindow?.add(
      chunk.events,
      chunk.deadLetters.map((d) => d.reason),
    );
    if (over !== null && over !== undefined && this.dlStopped === null) {
      this.dlStopped = deadLetterShareError(
        `--topic ${this.sourceTopic} (the partitions this member reads)`,
        over,
        this.dlWindow!.policy,
        `a window of ${over.records.toLocaleString('en-US')} records`,
        'records',
      );
      this.log.error({ err: this.dlStopped.message }, 'stopping: too many dead letters');
      // Gracefully, as on SIGTERM: finish the batch, checkpoint every shard, leave the group.
      this.finish('signal');
    }
  }

  /** Direct mode: a source partition is its own shard; each chunk goes straight to the shard task. */
  private async onDirectBatch(
    t: SourceTask,
    messages: KafkaMessage[],
    heartbeat: () => Promise<void>,
    resolve: (offset: number) => void,
  ): Promise<void> {
    const p = t.partition;
    const ready = this.shardTask(p, heartbeat);
    if (ready === null) return;
    const shard = await ready;
    t.init(shard.position, shard.partitionClock(p), shard.allEof());
    const todo = t.pending(messages);
    const size = this.opts.chunkRecords ?? 1000;
    for (let i = 0; i < todo.length; i += size) {
      const chunk = await t.decode(todo.slice(i, i + size), this.decoder, this.stage, 1);
      addProviderStats(this.provided, chunk.provided);
      try {
        await shard.process([{ offset: chunk.next - 1, frame: chunk.frames[0]! }], Date.now());
      } catch (err) {
        this.resetShard(p);
        throw err;
      }
      await this.chunkDone(t, chunk);
      resolve(chunk.next - 1);
    }
    // Records before `next` or past the end were skipped: they count as done.
    if (messages.length > 0) resolve(Number(messages[messages.length - 1]!.offset));
    if (shard.done) await this.checkpointAll();
    if (t.eof) this.consumer.pause([{ topic: this.sourceTopic, partitions: [p] }]);
  }

  private async onShardBatch(
    s: number,
    messages: KafkaMessage[],
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const ready = this.shardTask(s, heartbeat);
    if (ready === null) return;
    const task = await ready;
    const first = messages.length === 0 ? task.position : Number(messages[0]!.offset);
    if (first > task.position) {
      // kafkajs jumps to the earliest offset when ours was deleted: frames were lost (retention).
      throw new ExternalError(
        `repartition topic ${this.shardTopic} partition ${s} lost frames ${task.position}…${first - 1} ` +
          'before this shard read them (retention too short for the lag); the output would be incomplete',
        { retryable: false },
      );
    }
    const items = [];
    for (const m of messages) {
      const offset = Number(m.offset);
      if (offset < task.position || m.value === null) continue;
      items.push({ offset, frame: decodeFrame(m.value) });
    }
    if (items.length === 0) return;
    try {
      await task.process(items, Date.now());
    } catch (err) {
      this.resetShard(s);
      throw err;
    }
    // The shard finished a bounded run: checkpoint right after this batch (exclusive).
    if (task.done && task.dirty) this.checkpointWanted = true;
  }

  /** Drops a shard's in-memory state after a failure; it restores again on its next batch. */
  private resetShard(s: number): void {
    const slot = this.shards.get(s);
    if (slot === undefined) return;
    const fresh: ShardSlot = { shard: s, task: null, ready: null };
    this.shards.set(s, fresh);
    this.retireSlot(slot);
    this.log.warn({ shard: s }, 'shard reset after a failure; restoring it again');
  }

  /** Frames between a shard partition's end and where its shard is (own shards: live; others: committed). */
  private shardLag(s: number): number {
    const high = this.shardHigh.get(s) ?? 0;
    const pos = this.shards.get(s)?.task?.position ?? this.shardCommitted.get(s) ?? 0;
    return Math.max(0, high - pos);
  }

  private backlogged(limit: number): boolean {
    if (this.mode === 'direct') return false;
    for (let s = 0; s < this.shardsP; s++) if (this.shardLag(s) > limit) return true;
    return false;
  }

  private pauseSources(): void {
    if (this.sourcesPaused) return;
    this.sourcesPaused = true;
    this.log.debug({ maxLag: this.maxLag }, 'repartition backlog: pausing the source partitions');
    const partitions = [...this.sources.keys()];
    if (partitions.length > 0) this.consumer.pause([{ topic: this.sourceTopic, partitions }]);
  }

  private maybeResumeSources(): void {
    if (!this.sourcesPaused || this.backlogged(Math.floor(this.maxLag / 2))) return;
    this.sourcesPaused = false;
    const partitions = [...this.sources.values()].filter((t) => !t.eof).map((t) => t.partition);
    if (partitions.length > 0) this.consumer.resume([{ topic: this.sourceTopic, partitions }]);
  }

  /** Refreshes the repartition backlog of shards held elsewhere (their committed offsets and ends). */
  private async pollShardLag(): Promise<void> {
    const [ends, offs] = await Promise.all([
      this.admin.fetchTopicOffsets(this.shardTopic),
      this.admin.fetchOffsets({ groupId: this.opts.group, topics: [this.shardTopic] }),
    ]);
    for (const e of ends) {
      const high = Number(e.high);
      if (high > (this.shardHigh.get(e.partition) ?? 0)) this.shardHigh.set(e.partition, high);
    }
    for (const x of offs[0]?.partitions ?? []) {
      const o = Number(x.offset);
      if (o >= 0) this.shardCommitted.set(x.partition, o);
    }
  }

  /**
   * Checkpoints every ready shard (or those `only` picks), then commits the group offsets: the
   * checkpointed shards' positions and every source partition's. A shard's checkpoint stands on
   * its own (its state, position and outputs go to its changelog partition together), so a
   * subset is as safe as all; only a full round restarts the checkpoint interval.
   */
  private async checkpointAll(only?: (task: ShardTask) => boolean): Promise<void> {
    if (only === undefined) this.lastCheckpoint = performance.now();
    const commits: OffsetCommit[] = [];
    for (const [s, slot] of [...this.shards]) {
      const task = slot.task;
      if (task === null || (only !== undefined && !only(task))) continue;
      try {
        if (await task.checkpoint()) this.counters.checkpoints++;
      } catch (err) {
        this.resetShard(s);
        throw err;
      }
      commits.push({
        topic: this.shardTopic,
        partition: s,
        offset: String(task.position),
        metadata: encodeShardMeta({ done: task.done, checkpoint: task.committedId }),
      });
    }
    if (this.mode === 'repartition') {
      for (const [p, t] of this.sources) {
        if (t.committed === null && t.next === 0 && !t.eof) continue;
        commits.push({
          topic: this.sourceTopic,
          partition: p,
          offset: String(t.next),
          metadata: encodeSourceMeta({ clock: t.base, eof: t.eof && t.eofSent }),
        });
      }
    }
    await this.committer.commit(this.consumer, commits);
  }

  /** A source partition's offset is in the group (a commit that landed, maybe in the background). */
  private offsetCommitted(c: OffsetCommit): void {
    if (c.topic !== this.sourceTopic || this.mode !== 'repartition') return;
    const t = this.sources.get(c.partition);
    const m = decodeSourceMeta(c.metadata);
    if (t !== undefined && m !== null) t.committed = { offset: Number(c.offset), base: m.clock, eof: m.eof };
  }

  // ---- housekeeping -----------------------------------------------------------------------

  /** Runs every 200 ms under the lock: ends of input, idle checkpoints, completion of a bounded run. */
  private async housekeep(): Promise<void> {
    if (this.stopping || !this.joined) return;
    const now = Date.now();
    if (this.sourcesPaused && now - this.lastLagPoll > 1000) {
      this.lastLagPoll = now;
      await this.pollShardLag();
    }
    this.maybeResumeSources();
    // What a source batch left gathered when the shards were behind: no later batch may come.
    if (this.mode === 'repartition' && !this.sourcesPaused)
      for (const t of this.sources.values())
        if (t.gathered > 0 && performance.now() - t.lastGather >= 200 && (await settled(t.ready)))
          await this.sendGathered(t);
    if (this.opts.stopAtEnd) {
      if (this.mode === 'repartition') {
        for (const t of this.sources.values()) {
          if (!t.eof || t.eofSent) continue;
          if (!(await settled(t.ready))) continue;
          if (!t.eof || t.eofSent) continue;
          await this.sendFrames(t.partition, t.eofFrames(this.shardsP));
          t.eofSent = true;
          this.consumer.pause([{ topic: this.sourceTopic, partitions: [t.partition] }]);
        }
      } else {
        for (const slot of this.shards.values()) {
          const task = slot.task;
          if (task === null || task.done) continue;
          const end = this.endOffsets![slot.shard]!;
          if (task.position >= end) await task.endOfInput(slot.shard, now);
        }
      }
    }
    const dirty = [...this.shards.values()].some((s) => s.task?.dirty === true);
    const due = performance.now() - this.lastCheckpoint >= this.opts.checkpointIntervalMs;
    const sourcesMoved =
      this.mode === 'repartition' &&
      [...this.sources.values()].some(
        (t) => (t.next > 0 || t.eofSent) && !this.committer.isAt(this.sourceTopic, t.partition, t.next),
      );
    // Also while offsets the group does not have yet are waiting (a commit failed or goes on).
    if ((dirty || sourcesMoved || this.committer.behind) && (due || this.ownWorkDone()))
      await this.checkpointAll();
    if (this.opts.stopAtEnd && this.ownWorkDone() && now - this.lastDonePoll > 1000) {
      this.lastDonePoll = now;
      if (await this.jobDone()) {
        this.log.info('every partition reached its end: the bounded run is complete');
        this.finish('end');
      }
    }
  }

  /** This member's assigned work is finished and checkpointed. */
  private ownWorkDone(): boolean {
    if (this.restoring > 0) return false;
    for (const slot of this.shards.values())
      if (slot.task === null || !slot.task.done || slot.task.dirty) return false;
    if (this.mode === 'repartition') for (const t of this.sources.values()) if (!t.eofSent) return false;
    return true;
  }

  /** The whole group finished a bounded run: every partition's committed metadata says so. */
  private async jobDone(): Promise<boolean> {
    const topics = this.mode === 'direct' ? [this.sourceTopic] : [this.sourceTopic, this.shardTopic];
    const offs = await this.admin.fetchOffsets({ groupId: this.opts.group, topics });
    for (const t of offs) {
      const expected = t.topic === this.sourceTopic ? this.partitionsN : this.shardsP;
      if (t.partitions.length < expected) return false;
      for (const x of t.partitions) {
        const ok =
          t.topic === this.shardTopic
            ? decodeShardMeta(x.metadata)?.done === true
            : decodeSourceMeta(x.metadata)?.eof === true;
        if (!ok) return false;
      }
    }
    return true;
  }

  private async tearDown(graceful: boolean): Promise<void> {
    this.stopping = true;
    if (graceful && this.consumer !== undefined) {
      if (this.contact.fresh) {
        // Finish the current batch, checkpoint, then leave the group — unless the batch in hand
        // is stuck on brokers that keep failing (kafkajs retries a produce for about a minute):
        // then stop without it, as after a crash (the shards resume at their last checkpoint).
        let started = false;
        const final = this.lock
          .run(async () => {
            if (this.finalGaveUp) return;
            started = true;
            // A commit still retrying in the background first, so that the final one is sent.
            await this.committer.settle(3000);
            await this.checkpointAll();
          })
          .catch((err: unknown) => this.log.warn({ err: String(err) }, 'final checkpoint failed'));
        // The lock within the wait; a checkpoint once begun is waited for (its steps are bounded).
        if (!(await within(final, FINAL_CHECKPOINT_WAIT_MS)) && !started) {
          this.finalGaveUp = true;
          this.log.warn(
            { waitedMs: FINAL_CHECKPOINT_WAIT_MS },
            'stopping without a final checkpoint: the batch in hand did not finish; the shards resume at their last checkpoint (exactly once)',
          );
        } else {
          await final;
        }
      } else {
        // The batch in hand waits on brokers that do not answer (kafkajs retries for minutes), and
        // a checkpoint could not reach them either: stop as after a crash.
        this.log.warn(
          { timeoutMs: this.contact.timeoutMs },
          'stopping without a final checkpoint: no contact with the kafka cluster; the shards resume at their last checkpoint (exactly once)',
        );
      }
    }
    // Everything is checkpointed by now; a client that cannot say goodbye to a broker that just
    // came back must not keep the process alive (each step is bounded).
    const bounded = async (what: string, p: Promise<unknown> | undefined) => {
      if (p === undefined) return;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.log.warn({ step: what }, 'shutdown step did not finish in 10 s; going on');
          resolve();
        }, 10_000);
      });
      await Promise.race([p.catch(() => undefined), late]);
      clearTimeout(timer);
    };
    await bounded('consumer disconnect', this.consumer?.disconnect());
    this.held = heldTotals([...this.shards.values()].flatMap((s) => (s.task === null ? [] : [s.task])));
    for (const slot of this.shards.values()) this.retireSlot(slot);
    await bounded('shard operations', Promise.all([...this.shardOps.values()]));
    await bounded('changelog reader stop', this.reader?.stop());
    await bounded('worker pool', this.pool?.destroy());
    for (const sink of this.rowSinks) await bounded(`close ${sink.name}`, sink.close());
    await bounded('producer disconnect', this.producer?.disconnect());
    await bounded('admin disconnect', this.admin?.disconnect());
    if (this.tempStateDir !== null) rmSync(this.tempStateDir, { recursive: true, force: true });
  }
}

/** How long a stopping member waits for the batch in hand before it stops without a final checkpoint. */
const FINAL_CHECKPOINT_WAIT_MS = 10_000;

/** Whether `p` settles within `ms` (it goes on either way). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const r = await Promise.race([p.then(() => true), late]);
  clearTimeout(timer);
  return r;
}

/** Whether a promise has resolved (false while pending or rejected), without waiting. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  const marker = Symbol();
  try {
    return (await Promise.race([p, Promise.resolve(marker)])) !== marker;
  } catch {
    return false;
  }
}
