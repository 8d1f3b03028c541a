import type { Topology } from '../../topology/nodes.js';
import { createKafkaMetrics, type KafkaMetrics } from '../runtime/kafka/metrics.js';
import type { LiveView } from '../runtime/observer.js';
import { startUiServer, type UiServer } from './server.js';

/** What the page shows of one Kafka member (`kafka` in `GET /api/metrics`). */
export interface KafkaMemberSnapshot {
  readonly group: string;
  /** This member: host and process id. */
  readonly member: string;
  readonly topic: string;
  /** Source partitions this member owns (after the last join). */
  readonly partitions: readonly number[];
  /** Shards this member owns (partitions of the repartition topic, or the source's in direct mode). */
  readonly shards: readonly number[];
  /** Consumer lag per owned partition: messages between its end and this member's position. */
  readonly lag: readonly { readonly topic: string; readonly partition: number; readonly lag: number }[];
  readonly rebalances: number;
}

/** A running Kafka member's page: pass `metrics` and `onAssignment` to the Kafka job. */
export interface KafkaUi {
  readonly server: UiServer;
  readonly metrics: KafkaMetrics;
  onAssignment(a: { readonly source: readonly number[]; readonly shards: readonly number[] }): void;
  close(): Promise<void>;
}

const values = async (m: {
  get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }>;
}) => (await m.get()).values;

/**
 * Serves the topology page for one member of a Kafka run (`run --kafka … --ui-port P`): each
 * member serves its own page, fed from the job's Prometheus metrics (events, dead letters, rows,
 * consumer lag) read every `pollMs`, and from its assignments (which partitions and shards it
 * owns). The figures are this member's; keyed-branch counts and the event-time clock are not
 * reported by the Kafka job, so those nodes show the source and output figures only.
 *
 * @example
 * const ui = await startKafkaUi(topology, 8081, { group: 'g', topic: 'llm-events', workers: 2 });
 * await runKafkaJob({ ...opts, metrics: ui.metrics, onAssignment: ui.onAssignment });
 * await ui.close();
 */
export async function startKafkaUi(
  topology: Topology,
  port: number,
  opts: { group: string; topic: string; workers: number; pollMs?: number; member?: string },
): Promise<KafkaUi> {
  const server = await startUiServer(topology, port);
  const metrics = createKafkaMetrics();
  const counters = {
    eventsRead: 0,
    deadLettersByReason: {} as Record<string, number>,
    lateByWindow: {} as Record<string, number>,
    rowsByGroup: {} as Record<string, number>,
  };
  let owned = { source: [] as readonly number[], shards: [] as readonly number[] };
  let lag: KafkaMemberSnapshot['lag'] = [];
  let rebalances = 0;
  const member = opts.member ?? `${(await import('node:os')).hostname()}:${process.pid}`;
  const view: LiveView = {
    workers: opts.workers,
    shards: 0,
    stateDir: null,
    counters,
    recordsByKeyBy: {},
    clock: () => Number.NEGATIVE_INFINITY,
  };
  server.metrics.attach(view);
  server.metrics.setKafka(() => ({
    group: opts.group,
    member,
    topic: opts.topic,
    partitions: owned.source,
    shards: owned.shards,
    lag,
    rebalances,
  }));
  const poll = async () => {
    counters.eventsRead = (await values(metrics.events))[0]?.value ?? 0;
    for (const v of await values(metrics.deadLetters))
      counters.deadLettersByReason[String(v.labels.reason)] = v.value;
    for (const v of await values(metrics.rows)) counters.rowsByGroup[String(v.labels.group)] = v.value;
    rebalances = (await values(metrics.rebalances))[0]?.value ?? 0;
    const source = new Set(owned.source);
    const shards = new Set(owned.shards);
    // Only the partitions owned now: a gauge keeps the last value of a partition given away.
    lag = (await values(metrics.lag))
      .map((v) => ({ topic: String(v.labels.topic), partition: Number(v.labels.partition), lag: v.value }))
      .filter((x) => (x.topic === opts.topic ? source.has(x.partition) : shards.has(x.partition)))
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic === opts.topic ? -1 : 1));
  };
  let polling: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    polling = poll().catch(() => undefined);
  }, opts.pollMs ?? 250);
  timer.unref();
  return {
    server,
    metrics,
    onAssignment(a) {
      owned = { source: [...a.source], shards: [...a.shards] };
    },
    async close() {
      clearInterval(timer);
      await polling;
      await poll().catch(() => undefined);
      await server.close();
    },
  };
}
