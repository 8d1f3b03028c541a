import { FILTERS, MAPS } from '../../operators/registry.js';
import type { Topology } from '../../topology/nodes.js';
import { planTopology } from '../../topology/plan.js';
import { decodeLine } from '../events/decode.js';
import type { DecodedEvent } from '../events/types.js';
import { InternalError } from '../errors.js';
import type { DecodedBatch, EncodedBranch } from './protocol.js';
import { shardOf } from './shard-hash.js';

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
  readonly filters: Array<(e: DecodedEvent) => boolean>;
  readonly map: (
    e: DecodedEvent,
  ) => { ts: number; attrs: Readonly<Record<string, string>>; values: readonly number[] } | null;
  readonly key: string;
  readonly width: number;
}

export function compileChains(topology: Topology): CompiledChain[] {
  const plan = planTopology(topology);
  return plan.pre.map((chain, i) => {
    const filters: CompiledChain['filters'] = [];
    let map: CompiledChain['map'] | null = null;
    for (const n of chain.nodes) {
      if (n.kind === 'filter') filters.push(FILTERS.get(n.fn)!.create(n.params));
      if (n.kind === 'map') map = MAPS.get(n.fn)!.create(n.params);
    }
    const stage = plan.keyed[i]!;
    if (map === null) throw new InternalError(`chain to ${chain.keyBy} has no map`);
    return { filters, map, key: stage.keyBy.key, width: stage.map.fields.length };
  });
}

class Columns {
  keys: string[] = [];
  ts: number[] = [];
  clock: number[] = [];
  values: number[] = [];
  refs: number[] = [];
  constructor(readonly width: number) {}
  encode(): EncodedBranch {
    return {
      count: this.keys.length,
      width: this.width,
      keys: this.keys,
      ts: new Float64Array(this.ts),
      clock: new Float64Array(this.clock),
      values: new Float64Array(this.values),
      refs: new Float64Array(this.refs),
    };
  }
}

/** Decodes one batch of lines (`lines[i]` is line `firstLine + i`) for `shards` shards. */
export function decodeBatch(
  chains: readonly CompiledChain[],
  lines: readonly string[],
  firstLine: number,
  shards: number,
): DecodedBatch {
  const cols: Array<Array<Columns | null>> = Array.from({ length: shards }, () => chains.map(() => null));
  const dl: Array<[number, string, string]> = [];
  let events = 0;
  let maxTs = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0) continue;
    events++;
    const res = decodeLine(line);
    if (!res.ok) {
      dl.push([i, res.reason, res.detail]);
      continue;
    }
    const ev = res.event;
    for (let c = 0; c < chains.length; c++) {
      const chain = chains[c]!;
      let keep = true;
      for (const f of chain.filters) {
        if (!f(ev)) {
          keep = false;
          break;
        }
      }
      if (!keep) continue;
      const rec = chain.map(ev);
      if (rec === null) continue;
      const key = rec.attrs[chain.key]!;
      const s = shardOf(key, shards);
      const perShard = cols[s]!;
      let col = perShard[c];
      if (col === null || col === undefined) {
        col = new Columns(chain.width);
        perShard[c] = col;
      }
      col.keys.push(key);
      col.ts.push(rec.ts);
      col.clock.push(maxTs);
      for (const v of rec.values) col.values.push(v);
      col.refs.push(firstLine + i);
    }
    if (ev.ts > maxTs) maxTs = ev.ts;
  }
  return {
    type: 'decoded',
    events,
    dl,
    maxTs,
    perShard: cols.map((perShard) =>
      perShard.every((c) => c === null) ? null : perShard.map((c) => c?.encode() ?? null),
    ),
  };
}
