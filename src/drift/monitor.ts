import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FeatureRow } from '../../operators/operator.js';
import { ConfigError } from '../shared/errors.js';
import { formatTimestamp, parseTimestamp } from '../shared/timestamp.js';
import { assessDrift, type DriftSeverity, type DriftStatus } from './assess.js';

/** The group continuous drift writes its rows to. */
export const DRIFT_GROUP = 'drift';

/** What a {@link DriftMonitor} compares. */
export interface DriftMonitorConfig {
  /** The groups whose rows are monitored. */
  readonly groups: readonly string[];
  /** Length of the sliding current window (event time, ms). */
  readonly currentMs: number;
  /** Evaluate every this much event time (ms); default `currentMs`. */
  readonly everyMs?: number;
  /** The reference: the trailing `ms` before the current window, or a fixed period. */
  readonly reference: { readonly trailingMs: number } | { readonly from: number; readonly to: number };
  /**
   * How long after a boundary its rows are final (out-of-orderness + allowed lateness of the
   * monitored windows): a boundary b is evaluated once the event-time clock reaches b + delay.
   * Default 30 min.
   */
  readonly delayMs?: number;
  readonly minSamples?: number;
}

/** An alert event of the side output: one (entity, feature) whose status is `drift`. */
export interface DriftAlert {
  readonly type: 'feature_drift_alert';
  readonly group: string;
  readonly entity_id: string;
  readonly feature: string;
  readonly severity: DriftSeverity;
  readonly score: number | null;
  readonly psi: number | null;
  readonly z: number | null;
  readonly window_start: string;
  readonly window_end: string;
}

const STATUS_CODE: Record<DriftStatus, number> = {
  insufficient_data: -1,
  no_drift: 0,
  possible_drift: 1,
  drift: 2,
};
const SEVERITIES: readonly DriftSeverity[] = ['none', 'low', 'medium', 'high', 'critical'];

/** One monitored series: event time → [revision, value] (a higher revision replaces). */
type Series = Map<number, [number, number | null]>;

/**
 * Continuous drift of a running topology: watches the rows of some groups, and at every
 * `everyMs` boundary b of event time compares, per (entity, feature value), the current window
 * [b − current, b) with the reference (the trailing period before it, or a fixed one). It emits
 * drift rows (group `drift`, entity type `feature`, entity id `GROUP/FEATURE/ENTITY`, window
 * [b − current, b); values `status` (−1 insufficient data, 0 no drift, 1 possible, 2 drift),
 * `severity` (0 none … 4 critical), `score`, `psi`, `ks_statistic`, `ks_p_value`, `wasserstein`,
 * `z`, `js`, `chi2_p_value`, `n_reference`, `n_current`), an alert event for each `drift`, and
 * the metrics `feature_drift_score{feature,entity}` and `feature_drift_alerts_total{feature,severity}`.
 *
 * Deterministic: a boundary is evaluated only when the clock is `delayMs` past it, from the rows
 * with event times before it (latest revision of each), so the output does not depend on batching,
 * worker count, or when checkpoints happen. After a crash, {@link restore} rebuilds the state
 * from the committed row file.
 *
 * @example
 * const m = new DriftMonitor({ groups: ['perf_5min'], currentMs: 3_600_000, reference: { trailingMs: 86_400_000 } });
 * m.observe(row);
 * const { rows, alerts } = m.advance(clock);
 */
export class DriftMonitor {
  readonly config: DriftMonitorConfig;
  private readonly every: number;
  private readonly delay: number;
  private readonly groups: ReadonlySet<string>;
  /** group → entity → feature → series. */
  private readonly series = new Map<string, Map<string, Map<string, Series>>>();
  private readonly entityTypes = new Map<string, string>();
  /** The last boundary evaluated (or −∞). */
  private evaluatedUpTo = Number.NEGATIVE_INFINITY;
  private maxEventTime = Number.NEGATIVE_INFINITY;
  private scoreGauge: Gauge<'feature' | 'entity'> | null = null;
  private alertCounter: Counter<'feature' | 'severity'> | null = null;

  constructor(config: DriftMonitorConfig) {
    const positive = (field: string, v: number) => {
      if (!(Number.isFinite(v) && v > 0))
        throw new ConfigError(`drift \`${field}\` must be a positive duration, got ${v}`, { field });
    };
    if (config.groups.length === 0)
      throw new ConfigError('drift `groups` must name at least one group', { field: 'groups' });
    if (config.groups.includes(DRIFT_GROUP))
      throw new ConfigError(`drift cannot monitor its own group "${DRIFT_GROUP}"`, { field: 'groups' });
    positive('currentMs', config.currentMs);
    this.every = config.everyMs ?? config.currentMs;
    positive('everyMs', this.every);
    this.delay = config.delayMs ?? 1_800_000;
    if (!(this.delay >= 0)) throw new ConfigError(`drift \`delayMs\` must be ≥ 0, got ${this.delay}`);
    if ('trailingMs' in config.reference) positive('reference.trailingMs', config.reference.trailingMs);
    else if (!(config.reference.to > config.reference.from))
      throw new ConfigError('drift `reference.to` must be after `reference.from`', { field: 'reference' });
    this.config = config;
    this.groups = new Set(config.groups);
  }

  /** Registers the drift metrics on a registry (once). */
  registerMetrics(registry: Registry): void {
    this.scoreGauge = new Gauge({
      name: 'feature_drift_score',
      help: 'Latest drift score (0–1, 0.5 = on the drift line) of a feature value of an entity',
      labelNames: ['feature', 'entity'],
      registers: [registry],
    });
    this.alertCounter = new Counter({
      name: 'feature_drift_alerts_total',
      help: 'Drift alerts (status drift) by feature value and severity',
      labelNames: ['feature', 'severity'],
      registers: [registry],
    });
  }

  /** Takes note of a row (rows of other groups are ignored). */
  observe(row: FeatureRow): void {
    if (!this.groups.has(row.group) || row.provisional === true) return;
    this.entityTypes.set(row.group, row.entityType);
    let byEntity = this.series.get(row.group);
    if (byEntity === undefined) {
      byEntity = new Map();
      this.series.set(row.group, byEntity);
    }
    let byFeature = byEntity.get(row.entityId);
    if (byFeature === undefined) {
      byFeature = new Map();
      byEntity.set(row.entityId, byFeature);
    }
    for (const [name, v] of Object.entries(row.values)) {
      let s = byFeature.get(name);
      if (s === undefined) {
        s = new Map();
        byFeature.set(name, s);
      }
      const prev = s.get(row.eventTime);
      if (prev === undefined || row.revision >= prev[0]) s.set(row.eventTime, [row.revision, v]);
    }
    if (row.eventTime > this.maxEventTime) this.maxEventTime = row.eventTime;
  }

  /**
   * Evaluates every boundary the clock is `delayMs` past (all of them up to the last row seen
   * when `clock` is +∞, at the end of a bounded input). Returns the drift rows and alerts.
   */
  advance(clock: number): { rows: FeatureRow[]; alerts: DriftAlert[] } {
    const rows: FeatureRow[] = [];
    const alerts: DriftAlert[] = [];
    if (this.maxEventTime === Number.NEGATIVE_INFINITY) return { rows, alerts };
    const last =
      clock === Number.POSITIVE_INFINITY
        ? Math.ceil((this.maxEventTime + 1) / this.every) * this.every
        : Math.floor((clock - this.delay) / this.every) * this.every;
    let b =
      this.evaluatedUpTo === Number.NEGATIVE_INFINITY
        ? this.firstBoundary()
        : this.evaluatedUpTo + this.every;
    for (; b <= last; b += this.every) {
      this.evaluate(b, rows, alerts);
      this.evaluatedUpTo = b;
    }
    this.prune();
    return { rows, alerts };
  }

  /** {@link openDriftAlerts} for this monitor (callers need not load this module's imports). */
  openAlerts(
    opts: { readonly out: string | null; readonly driftAlerts?: string | null },
    resumed: boolean,
  ): ((alerts: readonly DriftAlert[]) => void) | null {
    return openDriftAlerts(this, opts, resumed);
  }

  /**
   * Rebuilds the state after a restart from the committed rows of an NDJSON row file (the file
   * sink's format): the monitored groups' rows are observed, and boundaries that already have
   * drift rows are not evaluated again. Returns the alerts those drift rows stand for, so a
   * side output can be rewritten whole.
   */
  restore(rowFile: string): DriftAlert[] {
    const alerts: DriftAlert[] = [];
    if (!existsSync(rowFile)) return alerts;
    for (const line of readFileSync(rowFile, 'utf8').split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line) as {
        group: string;
        entity_type: string;
        entity_id: string;
        version?: number;
        window_start: string | null;
        window_end: string | null;
        event_time?: string;
        revision?: number;
        values: Record<string, number | null>;
      };
      if (r.group === DRIFT_GROUP) {
        const end = parseTimestamp(r.window_end ?? '') ?? Number.NEGATIVE_INFINITY;
        if (end > this.evaluatedUpTo) this.evaluatedUpTo = end;
        const alert = alertOfRow(r.entity_id, r.window_start, r.window_end, r.values);
        if (alert !== null) alerts.push(alert);
        continue;
      }
      if (!this.groups.has(r.group)) continue;
      const eventTime =
        r.event_time === undefined
          ? (parseTimestamp(r.window_end ?? '') ?? 0) - 1
          : (parseTimestamp(r.event_time) ?? 0);
      this.observe({
        group: r.group,
        entityType: r.entity_type,
        entityId: r.entity_id,
        version: r.version ?? 1,
        windowStart: r.window_start === null ? null : parseTimestamp(r.window_start),
        windowEnd: r.window_end === null ? null : parseTimestamp(r.window_end),
        eventTime,
        revision: r.revision ?? 0,
        values: r.values,
      });
    }
    return alerts;
  }

  private firstBoundary(): number {
    // The first boundary whose current window holds data.
    let min = Number.POSITIVE_INFINITY;
    for (const byEntity of this.series.values())
      for (const byFeature of byEntity.values())
        for (const s of byFeature.values()) for (const t of s.keys()) if (t < min) min = t;
    return (Math.floor(min / this.every) + 1) * this.every;
  }

  private referenceRange(b: number): [number, number] {
    const ref = this.config.reference;
    const curFrom = b - this.config.currentMs;
    return 'trailingMs' in ref ? [curFrom - ref.trailingMs, curFrom] : [ref.from, ref.to];
  }

  private evaluate(b: number, rows: FeatureRow[], alerts: DriftAlert[]): void {
    const curFrom = b - this.config.currentMs;
    const [refFrom, refTo] = this.referenceRange(b);
    const groups = [...this.series.keys()].sort();
    for (const group of groups) {
      const byEntity = this.series.get(group)!;
      for (const entity of [...byEntity.keys()].sort()) {
        const byFeature = byEntity.get(entity)!;
        for (const feature of [...byFeature.keys()].sort()) {
          const s = byFeature.get(feature)!;
          const ref: number[] = [];
          const cur: number[] = [];
          for (const [t, [, v]] of s) {
            if (v === null) continue;
            if (t >= curFrom && t < b) cur.push(v);
            if (t >= refFrom && t < refTo) ref.push(v);
          }
          if (cur.length === 0) continue;
          const d = assessDrift(entity, feature, ref, cur, {
            ...(this.config.minSamples === undefined ? {} : { minSamples: this.config.minSamples }),
          });
          const values: Record<string, number | null> = {
            status: STATUS_CODE[d.status],
            severity: SEVERITIES.indexOf(d.severity),
            score: d.score,
            psi: d.psi,
            ks_statistic: d.ks?.statistic ?? null,
            ks_p_value: d.ks?.p_value ?? null,
            wasserstein: d.wasserstein,
            z: d.z,
            js: d.js,
            chi2_p_value: d.chi2?.p_value ?? null,
            n_reference: d.n_reference,
            n_current: d.n_current,
          };
          rows.push({
            group: DRIFT_GROUP,
            entityType: 'feature',
            entityId: `${group}/${feature}/${entity}`,
            version: 1,
            windowStart: curFrom,
            windowEnd: b,
            eventTime: b - 1,
            revision: 0,
            values,
          });
          if (d.score !== null) this.scoreGauge?.labels(feature, entity).set(d.score);
          if (d.status === 'drift') {
            this.alertCounter?.labels(feature, d.severity).inc();
            alerts.push(
              alertOfRow(
                `${group}/${feature}/${entity}`,
                formatTimestamp(curFrom),
                formatTimestamp(b),
                values,
              )!,
            );
          }
        }
      }
    }
  }

  /** Drops values no future evaluation can read. */
  private prune(): void {
    const next = this.evaluatedUpTo + this.every;
    const [refFrom, refTo] = this.referenceRange(next);
    const keepFrom = Math.min(refFrom, next - this.config.currentMs);
    const fixed = !('trailingMs' in this.config.reference);
    for (const byEntity of this.series.values())
      for (const byFeature of byEntity.values())
        for (const s of byFeature.values())
          for (const t of s.keys()) {
            if (t >= keepFrom) continue;
            if (fixed && t >= refFrom && t < refTo) continue;
            s.delete(t);
          }
  }
}

/**
 * Prepares a run's continuous drift: on a resumed run, rebuilds the monitor from the committed
 * rows of `out` ({@link DriftMonitor.restore}); rewrites the alerts side output (`driftAlerts`)
 * from the committed drift rows, so it holds each alert once whatever crashed; returns the
 * appender of new alerts (null without a side output).
 */
export function openDriftAlerts(
  monitor: DriftMonitor,
  opts: { readonly out: string | null; readonly driftAlerts?: string | null },
  resumed: boolean,
): ((alerts: readonly DriftAlert[]) => void) | null {
  const restored = resumed && opts.out !== null ? monitor.restore(opts.out) : [];
  const path = opts.driftAlerts ?? null;
  if (path === null) return null;
  const lines = (alerts: readonly DriftAlert[]) => alerts.map((a) => `${JSON.stringify(a)}\n`).join('');
  writeFileSync(path, lines(restored));
  return (alerts) => {
    if (alerts.length > 0) appendFileSync(path, lines(alerts));
  };
}

function alertOfRow(
  id: string,
  windowStart: string | null,
  windowEnd: string | null,
  v: Readonly<Record<string, number | null>>,
): DriftAlert | null {
  if (v.status !== STATUS_CODE.drift) return null;
  const [group = '', feature = '', ...rest] = id.split('/');
  return {
    type: 'feature_drift_alert',
    group,
    entity_id: rest.join('/'),
    feature,
    severity: SEVERITIES[v.severity ?? 0] ?? 'none',
    score: v.score ?? null,
    psi: v.psi ?? null,
    z: v.z ?? null,
    window_start: windowStart ?? '',
    window_end: windowEnd ?? '',
  };
}
