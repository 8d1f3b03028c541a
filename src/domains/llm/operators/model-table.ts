import type { ProcessNode } from '../../../../topology/index.js';
import { KeyedProcessBase } from '../../../../operators/index.js';
import type { Emitter } from '../../../../operators/index.js';

const YEAR_MS = 365 * 86_400_000;

/** One model of the catalog as last announced: event time and its numeric fields by input position. */
interface Entry {
  ts: number;
  values: number[];
  /** Event time and revision of the last row emitted for this model. */
  rowTs?: number;
  rowRev?: number;
}

/** The whole catalog (the processor is keyed by a constant, so one state holds every model). */
type ModelTable = Record<string, Entry>;

/**
 * The `model_static` group (catalog A2): entity `model`, no window, from `model_catalog` events.
 * The catalog is a table (latest entry per model by event time; an older announcement than the
 * stored one is ignored). MDL_002/MDL_003 divide by the catalog's maximum prices, so they are
 * table-wide: when an announcement changes a maximum, every model's row is emitted again at the
 * announcement's time; otherwise only the announced model's. MDL_005 (training cutoff age) is
 * computed at the row's event time. The other values come from the `catalog-extract` map.
 *
 * Keyed by a constant (`catalog`): one shard holds the table, as Flink would hold a
 * parallelism-1 table or Kafka Streams a global KTable.
 */
export class ModelTableOperator extends KeyedProcessBase<ModelTable> {
  private readonly costIn: number;
  private readonly costOut: number;
  private readonly cutoff: number;
  private readonly model: number;
  private readonly passThrough: ReadonlyArray<readonly [string, number]>;
  private readonly width: number;

  constructor(node: ProcessNode, fields: readonly string[], attributes: readonly string[]) {
    super(node, fields, attributes);
    this.costIn = this.field('cost_in');
    this.costOut = this.field('cost_out');
    this.cutoff = this.field('cutoff_ms');
    this.model = this.attr('model');
    this.width = fields.length;
    const computed = new Set([
      'model_cost_per_1k_input',
      'model_cost_per_1k_output',
      'model_training_cutoff_age',
    ]);
    this.passThrough = this.valueNames
      .filter((n) => !computed.has(n))
      .map((n) => [n, this.field(n)] as const);
  }

  protected onRecord(
    key: string,
    ts: number,
    v: (i: number) => number,
    a: (i: number) => string,
    out: Emitter,
  ): void {
    const model = a(this.model);
    const catalog = { ...(this.getState(key) ?? {}) };
    const prev = catalog[model];
    if (prev !== undefined && prev.ts > ts) return;
    const before = maxima(catalog, this.costIn, this.costOut);
    const values: number[] = [];
    for (let i = 0; i < this.width; i++) values.push(v(i));
    catalog[model] = { ts, values };
    this.setState(key, catalog);
    const after = maxima(catalog, this.costIn, this.costOut);
    const changed = !sameNumber(before[0], after[0]) || !sameNumber(before[1], after[1]);
    const models = changed ? Object.keys(catalog).sort() : [model];
    for (const m of models) {
      // A model re-emitted at the same event time (several announcements at one instant) gets
      // the next revision, so stores keyed by event time replace the earlier value.
      const e = catalog[m]!;
      const rev = e.rowTs === ts ? (e.rowRev ?? 0) + 1 : 0;
      catalog[m] = { ...e, rowTs: ts, rowRev: rev };
      out.row({ ...this.build(m, e, ts, after), revision: rev });
    }
  }

  private build(model: string, e: Entry, ts: number, max: readonly [number, number]) {
    const values: Record<string, number | null> = {};
    for (const name of this.valueNames) values[name] = null;
    for (const [name, i] of this.passThrough) values[name] = KeyedProcessBase.orNull(e.values[i]!);
    // As src/features/model.ts: prices over the catalog maximum clamped to [0, 1]; a cutoff after
    // the row's time reads as age 0.
    const unit = (x: number) => KeyedProcessBase.orNull(Math.min(1, Math.max(0, x)));
    values.model_cost_per_1k_input = unit(e.values[this.costIn]! / max[0]);
    values.model_cost_per_1k_output = unit(e.values[this.costOut]! / max[1]);
    values.model_training_cutoff_age = KeyedProcessBase.orNull(
      Math.max(0, (ts - e.values[this.cutoff]!) / YEAR_MS),
    );
    return this.row(model, ts, values);
  }

  protected serialize(s: ModelTable): unknown {
    return Object.fromEntries(
      Object.entries(s).map(([m, e]) => [
        m,
        [e.ts, e.values.map((x) => (Number.isFinite(x) ? x : null)), e.rowTs ?? null, e.rowRev ?? 0],
      ]),
    );
  }

  protected deserialize(data: unknown): ModelTable {
    const out: ModelTable = {};
    type Stored = [number, Array<number | null>, number | null | undefined, number | undefined];
    for (const [m, [ts, vals, rowTs, rowRev]] of Object.entries(data as Record<string, Stored>)) {
      const e: Entry = { ts, values: vals.map((x) => (x === null ? Number.NaN : x)) };
      if (rowTs !== null && rowTs !== undefined) {
        e.rowTs = rowTs;
        e.rowRev = rowRev ?? 0;
      }
      out[m] = e;
    }
    return out;
  }
}

/** The catalog's maximum input and output prices (NaN entries ignored; NaN when none). */
function maxima(catalog: ModelTable, costIn: number, costOut: number): [number, number] {
  let a = Number.NaN;
  let b = Number.NaN;
  for (const e of Object.values(catalog)) {
    const x = e.values[costIn]!;
    const y = e.values[costOut]!;
    if (Number.isFinite(x) && !(x <= a)) a = x;
    if (Number.isFinite(y) && !(y <= b)) b = y;
  }
  return [a, b];
}

function sameNumber(x: number, y: number): boolean {
  return x === y || (Number.isNaN(x) && Number.isNaN(y));
}
