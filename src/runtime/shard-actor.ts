import type { Emitter, FeatureRow, Operator, RecordBatch } from '../../operators/operator.js';
import { EventTimeSortedOperator } from '../../operators/event-time-sort.js';
import { PROCESSORS } from '../../operators/functions.js';
import { attachTables, declaredTables } from '../../operators/table-operator.js';
import { createWindowOperator } from '../../operators/window-operator.js';
import { CheckpointStore } from '../../state/checkpoint-store.js';
import { createBackend } from '../../state/create-backend.js';
import { OperatorTables } from '../../state/state-tables.js';
import type { Topology } from '../../topology/nodes.js';
import { planTopology } from '../../topology/plan.js';
import { InternalError } from '../shared/errors.js';
import type { LateRef, ProcessChunk } from './protocol.js';

/**
 * A shard: the unit of state, ordering and checkpointing. It owns the keyed state of its keys
 * for every keyed branch of the topology and processes its input strictly in order; nothing
 * else touches that state. It builds every operator's declared state tables and hands them over
 * (`Operator.attach`), and does all the storing: entries under `<operator id>/`, each table's
 * name, format version and migration (`state/state-tables.ts`). Its state lives in memory and is checkpointed incrementally into
 * its own state location (LevelDB, or memory when the run keeps no state).
 */
export class ShardActor {
  /** Operators per keyed branch, in plan order. */
  private readonly branches: Operator[][];
  private readonly all: Operator[];
  /** Each operator's state tables, built from what it declares, in the order of {@link all}. */
  private readonly tables: OperatorTables[];
  /** String attributes per record, per keyed branch. */
  private readonly attrWidths: number[];
  private store: CheckpointStore | null = null;

  constructor(
    readonly shard: number,
    topology: Topology,
  ) {
    const plan = planTopology(topology);
    // The largest disorder the topology allows anywhere: records within it reach every processor in order.
    let sortBound = 0;
    for (const n of topology.nodes)
      if ((n.kind === 'window' || n.kind === 'process') && n.outOfOrderness > sortBound)
        sortBound = n.outOfOrderness;
    this.branches = plan.keyed.map((stage) => [
      ...stage.windows.map((w) => {
        const op = createWindowOperator(w, stage.map.fields);
        // Sessions with a maximum duration cut where the element that would overgrow them falls
        // — in event-time order; arrival order would make the cut depend on the source's
        // interleaving. They see their records sorted within their own bound.
        return w.window.type === 'session' &&
          Number.isFinite(w.window.maxDuration ?? Number.POSITIVE_INFINITY)
          ? new EventTimeSortedOperator(op, w.outOfOrderness, { window: true })
          : op;
      }),
      ...stage.processes.map((p) => {
        const def = PROCESSORS.get(p.fn);
        if (def === undefined) throw new InternalError(`processor ${p.fn} is not registered`);
        // Processors depend on record order: they see their records in event-time order.
        return new EventTimeSortedOperator(def.create(p, stage.map.fields, stage.map.attributes), sortBound);
      }),
    ]);
    this.attrWidths = plan.keyed.map((stage) => stage.map.attributes.length);
    this.all = this.branches.flat();
    this.tables = this.all.map((op) => {
      const tables = OperatorTables.build(declaredTables(op));
      attachTables(op, tables);
      return tables;
    });
  }

  /** Opens the state location and restores the state of checkpoint `committedId`. */
  async open(
    location: string | null,
    committedId: number,
  ): Promise<{ keys: number; meta: Record<string, string> }> {
    const backend =
      location === null ? createBackend({ kind: 'memory' }) : createBackend({ kind: 'leveldb', location });
    this.store = new CheckpointStore(backend);
    const snap = await this.store.restore(committedId);
    // Stored as `<operator id>/<entry of its tables>`: the one place entries meet their operator.
    const perOp = new Map<string, Map<string, string>>();
    for (const op of this.all) perOp.set(op.id, new Map());
    for (const [k, v] of snap.entries) {
      const slash = k.indexOf('/');
      perOp.get(k.slice(0, slash))?.set(k.slice(slash + 1), v);
    }
    let keys = 0;
    this.all.forEach((op, i) => {
      const entries = perOp.get(op.id)!;
      keys += entries.size;
      this.tables[i]!.load(entries);
      op.restored?.();
    });
    return { keys, meta: { ...snap.meta } };
  }

  /** Runs a batch through the branches; returns the rows fired and the late records. */
  process(
    chunks: readonly ProcessChunk[],
    endClock: number,
    now: number,
  ): { rows: FeatureRow[]; late: LateRef[] } {
    const rows: FeatureRow[] = [];
    const late: LateRef[] = [];
    let refs: Float64Array | null = null;
    const out: Emitter = {
      row: (r) => rows.push(r),
      late: (ref, op, ts) => late.push([refs === null ? -1 : refs[ref]!, op, ts]),
    };
    for (const { branches, baseClock } of chunks) {
      for (let b = 0; b < this.branches.length; b++) {
        const enc = branches[b];
        if (enc === null || enc === undefined || enc.count === 0) continue;
        refs = enc.refs;
        const clock = enc.clock;
        for (let i = 0; i < enc.count; i++) if (clock[i]! < baseClock) clock[i] = baseClock;
        const { dict } = enc;
        const keys: string[] = new Array(enc.count);
        for (let i = 0; i < enc.count; i++) keys[i] = dict[enc.keys[i]!]!;
        const attrs: string[] = new Array(enc.attrs.length);
        for (let i = 0; i < attrs.length; i++) attrs[i] = dict[enc.attrs[i]!]!;
        const batch: RecordBatch = {
          count: enc.count,
          width: enc.width,
          keys,
          attrs,
          attrWidth: this.attrWidths[b]!,
          ts: enc.ts,
          clock: enc.clock,
          values: enc.values,
          refs: LOCAL_REFS(enc.count),
        };
        for (const op of this.branches[b]!) op.processBatch(batch, out);
      }
    }
    for (const op of this.all) {
      op.onWatermark?.(endClock, out);
      op.onTick?.(now, out);
    }
    return { rows, late };
  }

  /** Phase 1 of a checkpoint: the changed state and the source positions, in one batch. */
  async checkpoint(id: number, meta: Readonly<Record<string, string>>): Promise<number> {
    return (await this.checkpointChanges(id, meta)).size;
  }

  /**
   * Phase 1 of a checkpoint, returning the changed entries (`operatorId/key` → value, or null for
   * a delete) so a caller can also ship them elsewhere (e.g. a Kafka changelog topic).
   */
  async checkpointChanges(
    id: number,
    meta: Readonly<Record<string, string>>,
  ): Promise<Map<string, string | null>> {
    const changes = new Map<string, string | null>();
    this.all.forEach((op, i) => {
      op.beforeCheckpoint?.();
      for (const [k, v] of this.tables[i]!.takeChanges()) changes.set(`${op.id}/${k}`, v);
    });
    await this.requireStore().prepare(id, changes, meta);
    return changes;
  }

  /** Phase 2: the coordinator committed checkpoint `id`. */
  async commit(id: number): Promise<void> {
    await this.requireStore().commit(id);
  }

  async close(): Promise<void> {
    for (const op of this.all) op.onClose?.();
    await this.store?.close();
    this.store = null;
  }

  private requireStore(): CheckpointStore {
    if (this.store === null) throw new Error(`shard ${this.shard} is not open`);
    return this.store;
  }
}

let localRefs = new Int32Array(0);
/** Record positions 0..n-1 (operators report late records by position; the actor maps them to lines). */
function LOCAL_REFS(n: number): Int32Array {
  if (localRefs.length < n) {
    localRefs = new Int32Array(Math.max(n, localRefs.length * 2));
    for (let i = 0; i < localRefs.length; i++) localRefs[i] = i;
  }
  return localRefs;
}
