import { FILTERS, type MapContext, type MapFn, MAPS } from '../../operators/functions.js';
import type { Topology } from '../../topology/nodes.js';
import { planTopology } from '../../topology/plan.js';
import { PROVIDERS, type ProviderInstance, type ProviderStats } from '../../operators/providers.js';
import { type DecodedEvent, type DecodeFn, schemaDecoder } from '../../operators/schemas.js';
import { InternalError } from '../shared/errors.js';
import type { DecodedBatch, EncodedBranch } from './protocol.js';
import { shardOf } from './shard-hash.js';
import { StringDictionary } from './string-dictionary.js';

/**
 * The stateless stage before the shuffle, run on any worker: decode and validate each line,
 * run the filters and the map of every keyed branch, and route the records into per-shard,
 * per-branch columns. It is the hot path, so it runs in parallel on the pool while the
 * coordinator only reads lines and forwards columns.
 *
 * Each record carries the event-time clock before it *within the batch* (−∞ for the first);
 * the shard combines it with the clock at the start of the batch, which only the coordinator
 * knows. Together that is exactly the per-record on-event watermark.
 */
interface CompiledChain {
  /** The filters that are not plain event-type tests (those are in `types`). */
  readonly filters: Array<(e: DecodedEvent) => boolean>;
  /** The event types the chain's type filters keep; null when it has none. */
  readonly types: ReadonlySet<string> | null;
  readonly map: MapFn;
  readonly key: string;
  readonly width: number;
  /** The map's string attributes, carried with each record in this order. */
  readonly attributes: readonly string[];
  /** The providers the map looks values up in. */
  readonly needs: readonly string[];
}

/**
 * A topology's pre-shuffle chains compiled for the decode stage, with what the stage keeps
 * between batches: which chains each event type reaches, and each column's size in the last
 * batch (the next batch's starting size).
 *
 * @example
 * const compiled = compileChains(topology); // once per run and worker
 * const res = await decodeBatch(compiled, lines, 0, shards);
 */
export class CompiledChains {
  /** Event type → the indices of the chains whose type filters keep it (filled as types appear). */
  readonly byType = new Map<string, readonly number[]>();
  /** The providers any chain needs, in first-use order. */
  readonly needs: readonly string[];
  private sizes = new Float64Array(0);

  constructor(
    readonly chains: readonly CompiledChain[],
    /** The decoder of the topology's schema. */
    readonly decode: DecodeFn,
  ) {
    this.needs = [...new Set(chains.flatMap((c) => c.needs))];
  }

  /** The chains an event of type `t` reaches (those whose type filters keep it). */
  routes(t: string): readonly number[] {
    let r = this.byType.get(t);
    if (r === undefined) {
      r = this.chains.flatMap((c, i) => (c.types === null || c.types.has(t) ? [i] : []));
      this.byType.set(t, r);
    }
    return r;
  }

  /**
   * Per shard and chain (`s * chains + c`), the records per line of the last batch; an even split
   * before the first batch or when the number of shards changes. The caller updates it.
   */
  lastSizes(shards: number): Float64Array {
    if (this.sizes.length !== shards * this.chains.length)
      this.sizes = new Float64Array(shards * this.chains.length).fill(1 / shards);
    return this.sizes;
  }
}

/** Compiles the chains before the shuffle: filters (type tests apart), the map, the key. */
export function compileChains(topology: Topology): CompiledChains {
  const plan = planTopology(topology);
  const chains = plan.pre.map((chain, i): CompiledChain => {
    const filters: CompiledChain['filters'] = [];
    let types: Set<string> | null = null;
    let map: MapFn | null = null;
    let needs: readonly string[] = [];
    for (const n of chain.nodes) {
      if (n.kind === 'filter') {
        const def = FILTERS.get(n.fn)!;
        const fn = def.create(n.params); // also checks the params of a type filter
        if (def.types === undefined) filters.push(fn);
        else {
          const kept = new Set<string>(def.types(n.params));
          const before: ReadonlySet<string> | null = types;
          types = before === null ? kept : new Set([...before].filter((t: string) => kept.has(t)));
        }
      }
      if (n.kind === 'map') {
        const def = MAPS.get(n.fn)!;
        map = def.create(n.params);
        needs = def.needs ?? [];
      }
    }
    const stage = plan.keyed[i]!;
    if (map === null) throw new InternalError(`chain to ${chain.keyBy} has no map`);
    return {
      filters,
      types,
      map,
      key: stage.keyBy.key,
      width: stage.map.fields.length,
      attributes: stage.map.attributes,
      needs,
    };
  });
  const decode = topology.nodes.find((n) => n.kind === 'decode');
  if (decode === undefined) throw new InternalError(`topology ${topology.name} has no decode node`);
  return new CompiledChains(chains, schemaDecoder(decode.schema));
}

/**
 * One branch's records for one shard as they are routed: numeric columns in growable
 * Float64Arrays (no per-value boxing or JS-array growth), keys and attributes as indices into
 * the branch's dictionary of distinct strings, copied to exact-size arrays once at the end so
 * they can be transferred.
 */
class Columns {
  count = 0;
  private readonly dict = new StringDictionary();
  private ts: Float64Array;
  private clock: Float64Array;
  private refs: Float64Array;
  private keys: Float64Array;
  private values: Float64Array;
  private attrs: Float64Array;
  private nAttrs = 0;
  /** `capacity`: the records expected (it grows past them). */
  constructor(
    readonly width: number,
    readonly attrWidth: number,
    capacity: number,
  ) {
    this.ts = new Float64Array(capacity);
    this.clock = new Float64Array(capacity);
    this.refs = new Float64Array(capacity);
    this.keys = new Float64Array(capacity);
    this.values = new Float64Array(capacity * width).fill(Number.NaN);
    this.attrs = new Float64Array(capacity * attrWidth);
  }
  /** Appends a record: its key, attributes, event time, in-batch clock, global line and numeric fields. */
  push(
    key: string,
    attrs: Readonly<Record<string, string>>,
    names: readonly string[],
    ts: number,
    clock: number,
    ref: number,
    values: readonly number[],
  ): void {
    const i = this.count;
    if (i === this.ts.length) this.grow();
    this.keys[i] = this.dict.id(key);
    for (const a of names) this.attrs[this.nAttrs++] = this.dict.id(attrs[a] ?? '');
    this.ts[i] = ts;
    this.clock[i] = clock;
    this.refs[i] = ref;
    const w = this.width;
    const base = i * w;
    const vs = this.values;
    // A map may stop its values early: the missing trailing fields keep the NaN they start with.
    const n = Math.min(values.length, w);
    for (let j = 0; j < n; j++) vs[base + j] = values[j]!;
    this.count = i + 1;
  }
  private grow(): void {
    const more = (a: Float64Array, n: number) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const cap = this.ts.length * 2;
    this.ts = more(this.ts, cap);
    this.clock = more(this.clock, cap);
    this.refs = more(this.refs, cap);
    this.keys = more(this.keys, cap);
    this.values = more(this.values, cap * this.width).fill(Number.NaN, this.count * this.width);
    this.attrs = more(this.attrs, cap * this.attrWidth);
  }
  encode(): EncodedBranch {
    const n = this.count;
    return {
      count: n,
      width: this.width,
      dict: this.dict.strings,
      keys: this.keys.slice(0, n),
      attrs: this.attrs.slice(0, n * this.attrWidth),
      ts: this.ts.slice(0, n),
      clock: this.clock.slice(0, n),
      values: this.values.slice(0, n * this.width),
      refs: this.refs.slice(0, n),
    };
  }
}

const NO_VALUES: MapContext = { lookup: () => null };

/**
 * Decodes one batch of lines (`lines[i]` is line `firstLine + i`) for `shards` shards. When a
 * chain's map needs providers, each provider resolves the batch's distinct keys in one call
 * first (`providers`: opened for this run, by name).
 */
export async function decodeBatch(
  compiled: CompiledChains,
  lines: readonly string[],
  firstLine: number,
  shards: number,
  providers: ReadonlyMap<string, ProviderInstance> | null = null,
): Promise<DecodedBatch> {
  const { chains } = compiled;
  const decodeLine = compiled.decode;
  const cols: Array<Array<Columns | null>> = Array.from({ length: shards }, () => chains.map(() => null));
  const dl: Array<[number, string, string]> = [];
  let events = 0;
  const decoded: Array<DecodedEvent | null> = new Array(lines.length).fill(null);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0) continue;
    events++;
    const res = decodeLine(line);
    if (!res.ok) {
      dl.push([i, res.reason, res.detail]);
      continue;
    }
    decoded[i] = res.event;
  }
  let ctx = NO_VALUES;
  let provided: Record<string, { keys: number; cacheHits: number }> | undefined;
  if (compiled.needs.length > 0) {
    const byProvider = new Map<string, Map<string, unknown>>();
    provided = {};
    for (const name of compiled.needs) {
      const def = PROVIDERS.get(name);
      const instance = providers?.get(name);
      if (def === undefined || instance === undefined)
        throw new InternalError(
          `the topology needs the provider \`${name}\` but it is not open on this worker`,
        );
      const keys = new Set<string>();
      for (const ev of decoded) {
        if (ev === null) continue;
        const k = def.key(ev);
        if (k !== null && k.length > 0) keys.add(k);
      }
      const list = [...keys];
      const got = list.length === 0 ? { values: [], cacheHits: 0 } : await instance.resolve(list);
      const values = new Map<string, unknown>();
      for (let i = 0; i < list.length; i++) values.set(list[i]!, got.values[i]);
      byProvider.set(name, values);
      if (list.length > 0) provided[name] = { keys: list.length, cacheHits: got.cacheHits };
    }
    ctx = { lookup: (name, key) => byProvider.get(name)?.get(key) ?? null };
  }
  // Each column starts at the size its branch and shard had in the previous batch (per line),
  // so a column rarely grows: a branch keyed by a constant sends a whole batch to one shard.
  const sizes = compiled.lastSizes(shards);
  const capacity = (s: number, c: number) =>
    Math.max(64, Math.ceil(sizes[s * chains.length + c]! * lines.length * 1.125));
  let maxTs = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < decoded.length; i++) {
    const ev = decoded[i];
    if (ev === null || ev === undefined) continue;
    const routes = compiled.routes(ev.type);
    for (let r = 0; r < routes.length; r++) {
      const c = routes[r]!;
      const chain = chains[c]!;
      let keep = true;
      for (const f of chain.filters) {
        if (!f(ev)) {
          keep = false;
          break;
        }
      }
      if (!keep) continue;
      const rec = chain.map(ev, ctx);
      if (rec === null) continue;
      const key = rec.attrs[chain.key];
      // A record without the chain's key (e.g. feedback without a user_id) has no entity there.
      if (key === undefined || key.length === 0) continue;
      const s = shardOf(key, shards);
      const perShard = cols[s]!;
      let col = perShard[c];
      if (col === null || col === undefined) {
        col = new Columns(chain.width, chain.attributes.length, capacity(s, c));
        perShard[c] = col;
      }
      col.push(key, rec.attrs, chain.attributes, rec.ts, maxTs, firstLine + i, rec.values);
    }
    if (ev.ts > maxTs) maxTs = ev.ts;
  }
  if (lines.length > 0) {
    for (let s = 0; s < shards; s++) {
      for (let c = 0; c < chains.length; c++)
        sizes[s * chains.length + c] = (cols[s]![c]?.count ?? 0) / lines.length;
    }
  }
  return {
    type: 'decoded',
    events,
    dl,
    maxTs,
    perShard: cols.map((perShard) =>
      perShard.every((c) => c === null) ? null : perShard.map((c) => c?.encode() ?? null),
    ),
    ...(provided === undefined || Object.keys(provided).length === 0
      ? {}
      : { provided: provided as ProviderStats }),
  };
}
