/**
 * Prometheus metrics of the serving API, on their own registry (so several servers in one
 * process, e.g. tests and the benchmark, do not share counters). Label children used on the hot
 * path are resolved once.
 *
 * @example
 * const m = new ServeMetrics();
 * m.cacheLookup('l1', true);
 * await m.registry.metrics(); // Prometheus text
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

interface Series {
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * `feature_serving_latency_ms{route}` with a cheap hot path. prom-client's `observe` hashes the
 * label set on every call (≈ 0.8 µs, a few % of an L1 hit); {@link record} bumps a per-route
 * bucket array instead, and the exposition (`get`) is built from those arrays at scrape time in
 * prom-client's own format. Use {@link record}, not `observe`.
 */
class RouteLatencyHistogram extends Histogram<'route'> {
  private readonly bounds: readonly number[];
  private readonly series = new Map<string, Series>();

  constructor(name: string, help: string, bounds: readonly number[], registers: Registry[]) {
    super({ name, help, labelNames: ['route'], buckets: [...bounds], registers });
    this.bounds = bounds;
  }

  record(route: string, ms: number): void {
    let s = this.series.get(route);
    if (s === undefined) {
      s = { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.series.set(route, s);
    }
    const b = this.bounds;
    let i = 0;
    while (i < b.length && ms > b[i]!) i++;
    s.counts[i]!++;
    s.sum += ms;
    s.count++;
  }

  private snapshot() {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    const name = 'feature_serving_latency_ms';
    for (const [route, s] of this.series) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.counts[i]!;
        const le = i < this.bounds.length ? this.bounds[i]! : '+Inf';
        values.push({ labels: { le, route }, value: cumulative, metricName: `${name}_bucket` });
      }
      values.push({ labels: { route }, value: s.sum, metricName: `${name}_sum` });
      values.push({ labels: { route }, value: s.count, metricName: `${name}_count` });
    }
    return {
      name,
      help: 'Server-side latency of serving requests in ms',
      type: 'histogram',
      values,
      aggregator: 'sum',
    };
  }

  override async get() {
    return this.snapshot() as unknown as Awaited<ReturnType<Histogram<'route'>['get']>>;
  }

  /** What prom-client's registry calls to render the text format. */
  async getForPromString() {
    return this.snapshot();
  }

  override reset(): void {
    // Also called by the base constructor, before this class's fields exist.
    (this.series as Map<string, Series> | undefined)?.clear();
  }
}

/** A cache tier. */
export type Tier = 'l1' | 'l2' | 'l3';

/** Server-side latency buckets in ms: fine below 1 ms, where the L1 target lies. */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 25, 50, 100, 250, 500, 1000, 2500,
];

const TIERS: readonly Tier[] = ['l1', 'l2', 'l3'];

/**
 * The serving metrics:
 * - `feature_serving_latency_ms{route}` histogram, request received → response written;
 * - `feature_serving_requests_total{route,status}`;
 * - `feature_serving_errors_total{status}` (every 4xx/5xx response);
 * - `feature_cache_hits_total{tier,hit}` — one per (entity, group) lookup per tier consulted;
 * - `feature_store_errors_total{tier}` — failed L2/L3 reads;
 * - `feature_l1_invalidations_total`, `feature_l1_entries`, `feature_l1_bytes`.
 */
export class ServeMetrics {
  readonly registry = new Registry();
  private readonly latency: RouteLatencyHistogram;
  private readonly errors: Counter<'status'>;
  private readonly storeErrors: Counter<'tier'>;
  private readonly invalidations: Counter;
  /** Counts not yet added to the prom-client counters (flushed when scraped). */
  private readonly pendingRequests = new Map<string, { route: string; status: number; n: number }>();
  private readonly pendingCache = new Float64Array(6);

  constructor(
    options: { defaultMetrics?: boolean; l1Stats?: () => { entries: number; bytes: number } } = {},
  ) {
    const registers = [this.registry];
    this.latency = new RouteLatencyHistogram(
      'feature_serving_latency_ms',
      'Server-side latency of serving requests in ms, from request received to response written',
      LATENCY_BUCKETS_MS,
      registers,
    );
    const pendingRequests = this.pendingRequests;
    // Registered on the registry; incremented from the pending counts when scraped.
    new Counter({
      name: 'feature_serving_requests_total',
      help: 'Requests by route and HTTP status',
      labelNames: ['route', 'status'],
      registers,
      collect() {
        for (const p of pendingRequests.values()) {
          if (p.n > 0) this.labels(p.route, String(p.status)).inc(p.n);
          p.n = 0;
        }
      },
    });
    this.errors = new Counter({
      name: 'feature_serving_errors_total',
      help: 'Error responses (4xx and 5xx) by HTTP status',
      labelNames: ['status'],
      registers,
    });
    const pendingCache = this.pendingCache;
    new Counter({
      name: 'feature_cache_hits_total',
      help: 'Lookups of one (entity, group, version) per tier consulted: hit="true" found, "false" not found',
      labelNames: ['tier', 'hit'],
      registers,
      collect() {
        for (let i = 0; i < 6; i++) {
          this.labels(TIERS[i >> 1]!, String((i & 1) === 1)).inc(pendingCache[i]!);
          pendingCache[i] = 0;
        }
      },
    });
    this.storeErrors = new Counter({
      name: 'feature_store_errors_total',
      help: 'Failed reads of the online (l2) or offline (l3) store',
      labelNames: ['tier'],
      registers,
    });
    this.invalidations = new Counter({
      name: 'feature_l1_invalidations_total',
      help: 'L1 keys invalidated by messages on the invalidation channel',
      registers,
    });
    const stats = options.l1Stats;
    if (stats !== undefined) {
      new Gauge({
        name: 'feature_l1_entries',
        help: 'Entries in the L1 cache',
        registers,
        collect() {
          this.set(stats().entries);
        },
      });
      new Gauge({
        name: 'feature_l1_bytes',
        help: 'Estimated bytes held by the L1 cache',
        registers,
        collect() {
          this.set(stats().bytes);
        },
      });
    }
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one lookup in one tier. */
  cacheLookup(tier: Tier, hit: boolean): void {
    this.pendingCache[(tier === 'l1' ? 0 : tier === 'l2' ? 2 : 4) + (hit ? 1 : 0)]!++;
  }

  /** Counts a failed store read. */
  storeError(tier: 'l2' | 'l3'): void {
    this.storeErrors.labels(tier).inc();
  }

  /** Counts invalidated L1 keys. */
  invalidated(n: number): void {
    this.invalidations.inc(n);
  }

  /** Records one response: latency (ms), request count, and an error when status ≥ 400. */
  response(route: string, status: number, ms: number): void {
    this.latency.record(route, ms);
    const key = route + status;
    let p = this.pendingRequests.get(key);
    if (p === undefined) {
      p = { route, status, n: 0 };
      this.pendingRequests.set(key, p);
    }
    p.n++;
    if (status >= 400) this.errors.labels(String(status)).inc();
  }
}
