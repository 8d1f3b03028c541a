import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of a Kafka job (prom-client), in their own registry so several jobs in one
 * process (tests) do not collide:
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `featurestream_kafka_consumer_lag` | gauge: messages between a partition's end and this consumer's position | topic, partition |
 * | `featurestream_kafka_rebalances_total` | counter: group (re)joins of this member | |
 * | `featurestream_kafka_consumer_crashes_total` | counter: crashes of the group consumer (kafkajs restarts it, or the job does) | |
 * | `featurestream_kafka_restore_seconds` | histogram: time to restore the shards assigned in one go | |
 * | `featurestream_kafka_restored_shards_total` | counter | |
 * | `featurestream_kafka_assigned_partitions` | gauge | topic |
 * | `featurestream_events_total` | counter: source records decoded | |
 * | `featurestream_dead_letters_total` | counter | reason |
 * | `featurestream_rows_total` | counter: feature rows emitted | group |
 * | `featurestream_checkpoint_duration_seconds` | histogram: one shard checkpoint | |
 * | `featurestream_kafka_repartition_frames_total` | counter: frames sent to the repartition topic | |
 * | `featurestream_kafka_repartition_requests_total` | counter: produce requests that carried them | |
 *
 * @example
 * const m = createKafkaMetrics();
 * m.rebalances.inc();
 * await m.registry.metrics(); // text exposition
 */
export interface KafkaMetrics {
  readonly registry: Registry;
  readonly lag: Gauge<'topic' | 'partition'>;
  readonly rebalances: Counter;
  readonly consumerCrashes: Counter;
  readonly restoreSeconds: Histogram;
  readonly restores: Counter;
  readonly assigned: Gauge<'topic'>;
  readonly events: Counter;
  readonly deadLetters: Counter<'reason'>;
  readonly rows: Counter<'group'>;
  readonly checkpointSeconds: Histogram;
  /** With `events`: records per frame and frames per produce request (see frame-outbox.ts). */
  readonly repartitionFrames: Counter;
  readonly repartitionRequests: Counter;
}

/** Creates the metrics in a fresh registry (or `registry`). */
export function createKafkaMetrics(registry = new Registry()): KafkaMetrics {
  const registers = [registry];
  return {
    registry,
    lag: new Gauge({
      name: 'featurestream_kafka_consumer_lag',
      help: 'Messages between the end of a partition and this consumer position',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    rebalances: new Counter({
      name: 'featurestream_kafka_rebalances_total',
      help: 'Consumer group (re)joins of this member',
      registers,
    }),
    consumerCrashes: new Counter({
      name: 'featurestream_kafka_consumer_crashes_total',
      help: 'Crashes of the group consumer (kafkajs restarts it, or the job does)',
      registers,
    }),
    restoreSeconds: new Histogram({
      name: 'featurestream_kafka_restore_seconds',
      help: 'Time to restore the shards assigned in one rebalance, from local state and the changelog',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    restores: new Counter({
      name: 'featurestream_kafka_restored_shards_total',
      help: 'Shards restored before processing',
      registers,
    }),
    assigned: new Gauge({
      name: 'featurestream_kafka_assigned_partitions',
      help: 'Partitions assigned to this member',
      labelNames: ['topic'],
      registers,
    }),
    events: new Counter({
      name: 'featurestream_events_total',
      help: 'Source records decoded',
      registers,
    }),
    deadLetters: new Counter({
      name: 'featurestream_dead_letters_total',
      help: 'Records sent to dead letters, by reason code',
      labelNames: ['reason'],
      registers,
    }),
    rows: new Counter({
      name: 'featurestream_rows_total',
      help: 'Feature rows emitted, by group',
      labelNames: ['group'],
      registers,
    }),
    checkpointSeconds: new Histogram({
      name: 'featurestream_checkpoint_duration_seconds',
      help: 'Duration of one shard checkpoint (sinks flushed, changelog written)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    repartitionFrames: new Counter({
      name: 'featurestream_kafka_repartition_frames_total',
      help: 'Frames this member sent to the repartition topic (one per shard per source chunk)',
      registers,
    }),
    repartitionRequests: new Counter({
      name: 'featurestream_kafka_repartition_requests_total',
      help: 'Produce requests that carried those frames (frames of chunks decoded side by side share one)',
      registers,
    }),
  };
}

/** What the health endpoints report. */
export interface HealthProbe {
  /** Alive: the job loop runs (liveness). */
  live(): boolean;
  /** Ready: joined the group and no shard is restoring (readiness). */
  ready(): boolean;
}

/**
 * A small HTTP server for Kubernetes and Prometheus: `GET /metrics` (text exposition),
 * `GET /healthz` (200 while the job is alive, else 503) and `GET /readyz` (200 once the consumer
 * joined its group and restored its shards, else 503; 503 again from a consumer crash until the
 * consumer has rejoined, e.g. while every broker is unreachable).
 *
 * @example
 * const server = await serveMetrics(9464, metrics.registry, probe);
 * server.close();
 */
export function serveMetrics(
  port: number,
  registry: Registry,
  probe: HealthProbe,
  host = '0.0.0.0',
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        },
      );
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const ok = path === '/healthz' ? probe.live() : probe.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'not ready\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
