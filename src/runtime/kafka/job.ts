import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Admin,
  CompressionTypes,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type Producer,
} from 'kafkajs';
import type { Logger } from 'pino';
import { ChangelogReader } from '../../connectors/kafka/changelog.js';
import { PayloadDecoder } from '../../connectors/kafka/payload.js';
import { KafkaRowSink } from '../../connectors/kafka/row-sink.js';
import { ConfigError, ExternalError, FeaturestreamError } from '../../shared/errors.js';
import { createShardPool, type ShardPool } from '../shard-pool.js';
import type { RowSink } from '../sink.js';
import { kafkaClient } from '../../connectors/kafka/client.js';
import { checkKafkaTls } from '../../connectors/kafka/security.js';
import { connectionSettings } from '../../shared/connections.js';
import { restartWhenKafkaJsGivesUp } from '../../connectors/kafka/consumer-restart.js';
import { createKafkaMetrics, type KafkaMetrics, serveMetrics } from './metrics.js';
import type { ShardContext, ShardTask } from './shard-task.js';
import { OffsetCommitter } from './offset-committer.js';
import { planShardTopics } from './topic-plan.js';
import { heldTotals, type KafkaRunSummary, summarize } from './summary.js';
import { type DecodeStage, lateBoundOf, type SourceTask } from './source-task.js';
import { FrameOutbox } from './frame-outbox.js';
import { ClusterContact } from './cluster-contact.js';
import { WorkQueue } from './work-queue.js';
import { runLoop } from '../loop.js';
import { DeadLetterWindow } from '../dead-letter-policy.js';
import { onJoin, retireSlot } from './assignment.js';
import { batchWork } from './source-stage.js';
import { kafkaCommitLog, offsetCommitted } from './commit.js';
import { housekeep } from './housekeeping.js';
import type { KafkaJobOptions } from './options.js';
import { KafkaDriver } from './kafka-driver.js';

export type { KafkaJobOptions } from './options.js';

export type { KafkaRunSummary } from './summary.js';
export { internalTopics } from './topic-plan.js';

/** @internal A shard this member is assigned: its task once restored, or the restore under way. */
export interface ShardSlot {
  readonly shard: number;
  task: ShardTask | null;
  ready: Promise<ShardTask> | null;
}

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
 *
 * **Layout.** This class holds the member's state and its lifecycle (set-up, the consumer,
 * tear-down); its seams are functions over that state: `assignment.ts` (group joins, shard
 * restore and retirement), `source-stage.ts` (batches), `commit.ts` (checkpoints and group
 * offsets), `housekeeping.ts` (the 200 ms tick). Its members are shared with those modules only.
 */
export class KafkaJob {
  readonly log: Logger;
  readonly metrics: KafkaMetrics;
  readonly kafka: Kafka;
  admin!: Admin;
  producer!: Producer;
  /** Frames to the repartition topic, several source batches' per produce request. */
  outbox!: FrameOutbox;
  consumer!: Consumer;
  /** The member's batches and housekeeping ticks, as units of the job loop (`loop.ts`). */
  readonly queue = new WorkQueue();
  readonly repartitionCompression: CompressionTypes;
  /** A shard finished its bounded run in a batch: checkpoint once the batch is done. */
  checkpointWanted = false;
  readonly sources = new Map<number, SourceTask>();
  /** The source driver: the assigned source partitions, their committed positions, seeking them. */
  readonly driver: KafkaDriver;
  readonly shards = new Map<number, ShardSlot>();
  /** Per shard, the chain of restore/close operations on its local state. */
  readonly shardOps = new Map<number, Promise<unknown>>();
  readonly decoder: PayloadDecoder;
  pool: ShardPool | null = null;
  stage!: DecodeStage;
  readonly provided: Record<string, { keys: number; cacheHits: number }> = {};
  mode: 'repartition' | 'direct' = 'repartition';
  sourceTopic: string;
  shardTopic = '';
  changelogTopic = '';
  partitionsN = 0;
  shardsP = 0;
  endOffsets: number[] | null = null;
  ctx!: ShardContext;
  stateDir = '';
  tempStateDir: string | null = null;
  rowSinks: RowSink[] = [];
  stopping = false;
  /** Stopping: the batch in hand did not let the final checkpoint in within its wait. */
  finalGaveUp = false;
  joined = false;
  /** The group consumer crashed and has not rejoined yet (readiness is false meanwhile). */
  consumerDown = false;
  /** When the group consumer last heard from the cluster (readiness is false past the session timeout). */
  readonly contact: ClusterContact;
  restoring = 0;
  lastCheckpoint = performance.now();
  lastDonePoll = 0;
  lastRevoke = Number.NEGATIVE_INFINITY;
  failure: unknown = null;
  /** The opt-in dead-letter check over windows of source records, and the error it stopped with. */
  readonly dlWindow: DeadLetterWindow | null;
  dlStopped: Error | null = null;
  reader: ChangelogReader | null = null;
  /** Known end of each repartition partition, and committed positions of shards held elsewhere. */
  readonly shardHigh = new Map<number, number>();
  readonly shardCommitted = new Map<number, number>();
  sourcesPaused = false;
  lastLagPoll = 0;
  readonly maxLag: number;
  readerStarted: Promise<void> = Promise.resolve();
  finish!: (by: 'end' | 'signal') => void;
  fail!: (e: unknown) => void;
  readonly counters = { events: 0, checkpoints: 0, restored: 0, rebalances: 0 };
  readonly committer: OffsetCommitter;
  readonly retiredCounters: ShardTask['counters'][] = [];
  held: KafkaRunSummary['heldTotals'] = {
    shards: [],
    deadLettersByReason: {},
    lateByWindow: {},
    rowsByGroup: {},
    invalidValues: {},
  };

  constructor(readonly opts: KafkaJobOptions) {
    this.log = opts.logger;
    this.metrics = opts.metrics ?? createKafkaMetrics();
    this.sourceTopic = opts.topic;
    this.driver = new KafkaDriver(
      () => this.consumer,
      opts.topic,
      () => [...this.sources.keys()].sort((x, y) => x - y),
    );
    this.maxLag = opts.maxRepartitionLag ?? 64;
    this.repartitionCompression =
      opts.repartitionCompression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    // A commit the brokers keep refusing goes on in the background, never holding the lock
    // (and so the batches and their heartbeats) for longer than a fraction of the session.
    this.committer = new OffsetCommitter(opts.logger, {
      waitMs: Math.min(1000, Math.floor((opts.sessionTimeoutMs ?? 30_000) / 5)),
      onCommitted: (c) => offsetCommitted(this, c),
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
    done.then(
      (by) => {
        stoppedBy = by;
        this.stopping = true;
        this.queue.end();
      },
      (err: unknown) => this.queue.fail(err),
    );
    try {
      await this.setUp();
      if (o.metricsPort !== undefined && o.metricsPort !== null) {
        server = await serveMetrics(o.metricsPort, this.metrics.registry, {
          live: () => this.failure === null,
          ready: () => this.joined && !this.consumerDown && this.contact.fresh && this.restoring === 0,
        });
      }
      await this.startConsumer();
      // Not in the loop: a batch stuck on a broker that is gone holds it.
      contactCheck = setInterval(() => {
        if (this.joined) this.contact.check();
      }, 1000);
      let tickQueued = false;
      housekeeping = setInterval(() => {
        if (tickQueued) return;
        tickQueued = true;
        this.queue.push({
          exclusive: true,
          tick: true,
          run: () => housekeep(this),
          settle: (err) => {
            tickQueued = false;
            if (err !== null) this.log.warn({ err: String(err) }, 'housekeeping failed; will retry');
          },
        });
      }, 200);
      // The job loop: batches and ticks until the member stops, then the final checkpoint.
      await runLoop(this.queue, kafkaCommitLog(this));
    } finally {
      if (housekeeping !== null) clearInterval(housekeeping);
      if (contactCheck !== null) clearInterval(contactCheck);
      o.signal?.removeEventListener('abort', onAbort);
      await this.tearDown();
      server?.close();
    }
    // Stopped by the dead-letter policy: checkpointed like a SIGTERM, then a failure (exit 1).
    if (this.dlStopped !== null) throw this.dlStopped;
    return this.summary(stoppedBy, started);
  }

  summary(stoppedBy: 'end' | 'signal', started: number): KafkaRunSummary {
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

  async setUp(): Promise<void> {
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

  async startConsumer(): Promise<void> {
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
        onJoin(this, e.payload.memberAssignment);
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

  readonly runConfig = {
    autoCommit: false,
    eachBatchAutoResolve: false,
    // Several partitions' batches at once (shared units of the loop); kafkajs keeps each
    // partition's in order. A batch returns to kafkajs once the loop settled it, after the
    // checkpoint it made due.
    partitionsConsumedConcurrently: 8,
    eachBatch: (payload: EachBatchPayload) =>
      new Promise<void>((resolve, reject) => {
        this.queue.push(batchWork(this, payload, (err) => (err === null ? resolve() : reject(err))));
      }),
  };

  fatal(err: unknown): void {
    this.failure ??= err;
    this.fail(err);
  }

  /** Closes everything the member opened (after the loop's final checkpoint, or a failure). */
  async tearDown(): Promise<void> {
    this.stopping = true;
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
    for (const slot of this.shards.values()) retireSlot(this, slot);
    await bounded('shard operations', Promise.all([...this.shardOps.values()]));
    await bounded('changelog reader stop', this.reader?.stop());
    await bounded('worker pool', this.pool?.destroy());
    for (const sink of this.rowSinks) await bounded(`close ${sink.name}`, sink.close());
    await bounded('producer disconnect', this.producer?.disconnect());
    await bounded('admin disconnect', this.admin?.disconnect());
    if (this.tempStateDir !== null) rmSync(this.tempStateDir, { recursive: true, force: true });
  }
}
