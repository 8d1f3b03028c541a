import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LiveObserver, LiveView } from '../runtime/observer.js';
import type { TopologyJson, TopologyNodeJson } from './graph.js';
import type { KafkaMemberSnapshot } from './kafka-feed.js';

/** Live figures of one topology node. Rates are per second over the last snapshot interval. */
export interface NodeMetrics {
  readonly in: number;
  readonly out: number;
  readonly inPerSecond: number;
  readonly outPerSecond: number;
  readonly deadLetters?: number;
  readonly late?: number;
  /** Windows: clock − out-of-orderness − 1 (ms since the epoch), null before any event. */
  readonly watermark?: number | null;
  /** Windows: how far the watermark is behind the wall clock and behind the newest event, ms. */
  readonly lagWallMs?: number | null;
  readonly lagEventMs?: number | null;
}

/** `GET /api/metrics` and each SSE `metrics` event. */
export interface MetricsSnapshot {
  readonly topology: string;
  /** `idle`: no job attached (`featurestream ui`); `running`; `done`. */
  readonly status: 'idle' | 'running' | 'done';
  readonly at: number;
  readonly eventsRead: number;
  readonly eventsPerSecond: number;
  readonly deadLetters: number;
  readonly lateRecords: number;
  readonly rowsWritten: number;
  /** The event-time clock (greatest event time seen), null before any event or at the end. */
  readonly clock: number | null;
  readonly nodes: Readonly<Record<string, NodeMetrics>>;
  readonly workers: number;
  /** Each shard, the worker it is pinned to, and its state size on disk (LevelDB). */
  readonly shards: readonly { shard: number; worker: number; stateBytes: number | null }[];
  readonly checkpoints: readonly {
    id: number;
    at: number;
    ms: number;
    stateBytes: number | null;
    done: boolean;
  }[];
  /** A Kafka run: this member's group, owned partitions and shards, consumer lag per partition. */
  readonly kafka?: KafkaMemberSnapshot;
}

const sum = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);

function dirBytes(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of entries) {
    try {
      const st = statSync(join(dir, name));
      total += st.isDirectory() ? dirBytes(join(dir, name)) : st.size;
    } catch {
      // removed while we looked (LevelDB compaction)
    }
  }
  return total;
}

/**
 * The web UI's metrics: a {@link LiveObserver} the coordinator feeds, turned into per-node
 * figures of the topology (records in/out and their rates, dead letters, late records,
 * watermarks and lag), shards with their worker and state size, and the checkpoint history.
 *
 * @example
 * const metrics = new RunMetrics(topologyJson);
 * await runJob({ ...opts, observer: metrics });
 * metrics.snapshot();
 */
export class RunMetrics implements LiveObserver {
  private view: LiveView | null = null;
  private finished = false;
  private readonly checkpoints: {
    id: number;
    at: number;
    ms: number;
    stateBytes: number | null;
    done: boolean;
  }[] = [];
  private last: { at: number; values: Map<string, number> } | null = null;
  private rates = new Map<string, number>();
  private stateSizes: { at: number; perShard: (number | null)[] } = { at: 0, perShard: [] };
  private readonly byId: Map<string, TopologyNodeJson>;
  private readonly downstream: Map<string, string[]>;
  private kafka: (() => KafkaMemberSnapshot) | null = null;

  constructor(private readonly topology: TopologyJson) {
    this.byId = new Map(topology.nodes.map((n) => [n.id, n]));
    this.downstream = new Map(topology.nodes.map((n) => [n.id, []]));
    for (const n of topology.nodes) for (const i of n.inputs) this.downstream.get(i)?.push(n.id);
  }

  attach(view: LiveView): void {
    this.view = view;
  }

  /** A Kafka member's page: what it owns and its lag, read at each snapshot. */
  setKafka(read: () => KafkaMemberSnapshot): void {
    this.kafka = read;
  }

  checkpoint(c: { id: number; ms: number; done: boolean }): void {
    const sizes = this.shardStateBytes(true);
    const total = sizes.every((s) => s === null) ? null : sizes.reduce<number>((a, b) => a + (b ?? 0), 0);
    this.checkpoints.push({
      id: c.id,
      at: Date.now(),
      ms: Math.round(c.ms * 10) / 10,
      stateBytes: total,
      done: c.done,
    });
    if (this.checkpoints.length > 50) this.checkpoints.shift();
    if (c.done) this.finished = true;
  }

  private shardStateBytes(fresh = false): (number | null)[] {
    const v = this.view;
    if (v === null) return [];
    const now = Date.now();
    if (fresh || now - this.stateSizes.at > 5_000) {
      const dir = v.stateDir;
      this.stateSizes = {
        at: now,
        perShard: Array.from({ length: v.shards }, (_, s) =>
          dir === null ? null : dirBytes(join(dir, `shard-${s}`)),
        ),
      };
    }
    return this.stateSizes.perShard;
  }

  /** The keyBy nodes at or below `id` before the next keyBy (a filter or map feeds these). */
  private keyBysBelow(id: string, seen = new Set<string>()): string[] {
    if (seen.has(id)) return [];
    seen.add(id);
    const n = this.byId.get(id);
    if (n?.kind === 'keyBy') return [id];
    return (this.downstream.get(id) ?? []).flatMap((d) => this.keyBysBelow(d, seen));
  }

  /** The current figures; rates are measured against the previous call. */
  snapshot(): MetricsSnapshot {
    const now = Date.now();
    const v = this.view;
    const c = v?.counters;
    const eventsRead = c?.eventsRead ?? 0;
    const dl = c === undefined ? 0 : sum(c.deadLettersByReason);
    const late = c === undefined ? 0 : sum(c.lateByWindow);
    const rows = c === undefined ? 0 : sum(c.rowsByGroup);
    const clock = v?.clock() ?? Number.NEGATIVE_INFINITY;
    const finiteClock = Number.isFinite(clock) ? clock : null;
    const byKeyBy = v?.recordsByKeyBy ?? {};
    const records = (id: string) => this.keyBysBelow(id).reduce((a, k) => a + (byKeyBy[k] ?? 0), 0);
    const counts = new Map<string, { in: number; out: number }>();
    const extra = new Map<string, Partial<NodeMetrics>>();
    for (const n of this.topology.nodes) {
      switch (n.kind) {
        case 'source':
          counts.set(n.id, { in: eventsRead, out: eventsRead });
          break;
        case 'decode':
          counts.set(n.id, { in: eventsRead, out: eventsRead - dl });
          extra.set(n.id, { deadLetters: dl });
          break;
        case 'filter':
        case 'map':
        case 'keyBy':
          counts.set(n.id, { in: n.kind === 'keyBy' ? records(n.id) : records(n.id), out: records(n.id) });
          break;
        case 'window':
        case 'process': {
          const input = n.inputs.reduce((a, i) => a + records(i), 0);
          counts.set(n.id, { in: input, out: c?.rowsByGroup[String(n.group)] ?? 0 });
          const ooo = typeof n.outOfOrderness === 'number' ? n.outOfOrderness : 0;
          const wm = finiteClock === null ? null : finiteClock - ooo - 1;
          extra.set(n.id, {
            late: c?.lateByWindow[n.id] ?? 0,
            watermark: wm,
            lagWallMs: wm === null ? null : now - wm,
            lagEventMs: wm === null ? null : ooo + 1,
          });
          break;
        }
        case 'sink':
          counts.set(n.id, { in: rows, out: rows });
          break;
        default:
          counts.set(n.id, { in: 0, out: 0 });
      }
    }
    const values = new Map<string, number>([['events', eventsRead]]);
    for (const [id, x] of counts) {
      values.set(`${id}:in`, x.in);
      values.set(`${id}:out`, x.out);
    }
    if (this.last !== null && now - this.last.at >= 250) {
      const dt = (now - this.last.at) / 1000;
      for (const [k, x] of values) this.rates.set(k, Math.max(0, (x - (this.last.values.get(k) ?? 0)) / dt));
      this.last = { at: now, values };
    } else if (this.last === null) {
      this.last = { at: now, values };
    }
    const nodes: Record<string, NodeMetrics> = {};
    for (const [id, x] of counts) {
      nodes[id] = {
        ...x,
        inPerSecond: Math.round(this.rates.get(`${id}:in`) ?? 0),
        outPerSecond: Math.round(this.rates.get(`${id}:out`) ?? 0),
        ...extra.get(id),
      };
    }
    const sizes = this.shardStateBytes();
    return {
      topology: this.topology.name,
      status: v === null ? 'idle' : this.finished ? 'done' : 'running',
      at: now,
      eventsRead,
      eventsPerSecond: Math.round(this.rates.get('events') ?? 0),
      deadLetters: dl,
      lateRecords: late,
      rowsWritten: rows,
      clock: finiteClock,
      nodes,
      workers: v?.workers ?? 0,
      shards: Array.from({ length: v?.shards ?? 0 }, (_, s) => ({
        shard: s,
        worker: s % (v?.workers ?? 1),
        stateBytes: sizes[s] ?? null,
      })),
      checkpoints: [...this.checkpoints],
      ...(this.kafka === null ? {} : { kafka: this.kafka() }),
    };
  }
}
