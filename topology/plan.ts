/**
 * The runtime's view of a topology. A valid topology is a set of linear chains
 * `source → decode → filter* → map → keyBy → window → sink` that may fan out (one decode feeding
 * several filters, one keyBy feeding several windows, one window feeding several sinks); only
 * sinks fan in. The plan splits each chain at its keyBy:
 *
 * - {@link TopologyPlan.pre}: the stateless part (decode, filters, map) that runs on the
 *   coordinator, one ordered chain per keyBy;
 * - {@link TopologyPlan.keyed}: per keyBy, the windows that run in the shard actors, with the map
 *   whose `fields` give the layout of `ExtractedRecord.values`;
 * - {@link TopologyPlan.sinks}: where the windows' feature rows go.
 *
 * @example
 * const plan = planTopology(llmFeaturesTopology());
 * plan.pre[0].nodes.map((n) => n.id);          // ['decoded', 'perf_events', 'perf_extract']
 * plan.keyed[0].keyBy.key;                      // 'model'
 * plan.keyed[0].windows.map((w) => w.id);       // ['perf_5min', 'perf_1hr']
 */
import type {
  DecodeNode,
  FilterNode,
  KeyByNode,
  MapNode,
  ProcessNode,
  SinkNode,
  SourceNode,
  Topology,
  TopologyNode,
  WindowNode,
} from './nodes.js';
import { freezeTopology } from './nodes.js';
import { validateTopology } from './validate.js';

/** A node of the stateless, pre-shuffle part of a chain. */
export type StatelessNode = DecodeNode | FilterNode | MapNode;

/** The stateless chain from a source to one keyBy; runs on the coordinator. */
export interface PreChain {
  /** Id of the keyBy this chain feeds; `pre[i]` feeds `keyed[i]`, so `pre[i].keyBy === keyed[i].keyBy.id`. */
  readonly keyBy: string;
  /** The source the chain reads. */
  readonly source: SourceNode;
  /**
   * The nodes between the source and the keyBy in data-flow order: exactly one decode first,
   * then zero or more filters, then exactly one map (so `nodes.at(-1)` is the map of `keyed[i]`).
   * Chains of different keyBys may share a prefix; shared nodes are the same objects, so a
   * runtime that wants to run a shared decode or filter once can dedupe by node id.
   */
  readonly nodes: readonly StatelessNode[];
}

/** The keyed part after one keyBy; runs in the shard actors (state partitioned by `keyBy.key`). */
export interface KeyedStage {
  /** The partitioning node: records route to shard `hash(record.attrs[keyBy.key]) mod shards`. */
  readonly keyBy: KeyByNode;
  /** The map feeding the keyBy: `map.fields[i]` names `ExtractedRecord.values[i]` for the windows below. */
  readonly map: MapNode;
  /** The windows reading this keyBy, in topology order (may be empty). Each has `key === keyBy.key`. */
  readonly windows: readonly WindowNode[];
  /** The processors reading this keyBy, in topology order (may be empty). Each has `key === keyBy.key`. */
  readonly processes: readonly ProcessNode[];
}

/** The runtime's view of a topology. Plain, deeply frozen data. */
export interface TopologyPlan {
  /** The topology the plan was made from (deeply frozen). */
  readonly topology: Topology;
  /** Every source, in topology order (including any that feeds no keyBy). */
  readonly sources: readonly SourceNode[];
  /** One stateless chain per keyBy, in the order of `keyed`. */
  readonly pre: readonly PreChain[];
  /** One keyed stage per keyBy, in topology order. */
  readonly keyed: readonly KeyedStage[];
  /** Every sink, in topology order; `sink.inputs` are window and process ids. */
  readonly sinks: readonly SinkNode[];
}

/**
 * Splits a topology into the coordinator's stateless chains and the shards' keyed stages.
 * A pure pass: the topology is validated first (so the chain shapes above hold) and not changed.
 *
 * @throws TopologyError when the topology is not valid (see `validateTopology`).
 */
export function planTopology(t: Topology): TopologyPlan {
  validateTopology(t);
  // Keep the caller's objects when they are already frozen (builder output), so identities hold.
  const frozen = Object.isFrozen(t) && Object.isFrozen(t.nodes) && t.nodes.every((n) => Object.isFrozen(n));
  const topo = frozen ? t : freezeTopology(t);
  const byId = new Map(topo.nodes.map((n) => [n.id, n]));
  const ofKind = <K extends TopologyNode['kind']>(kind: K) =>
    topo.nodes.filter((n): n is Extract<TopologyNode, { kind: K }> => n.kind === kind);

  const pre: PreChain[] = [];
  const keyed: KeyedStage[] = [];
  for (const keyBy of ofKind('keyBy')) {
    // Walk up single inputs to the source; validation guarantees one input per non-sink node.
    const nodes: StatelessNode[] = [];
    let up = byId.get(keyBy.inputs[0]!)!;
    while (up.kind !== 'source') {
      nodes.unshift(up as StatelessNode);
      up = byId.get(up.inputs[0]!)!;
    }
    const map = nodes.at(-1) as MapNode;
    pre.push(Object.freeze({ keyBy: keyBy.id, source: up, nodes: Object.freeze(nodes) }));
    const windows = ofKind('window').filter((w) => w.inputs[0] === keyBy.id);
    const processes = ofKind('process').filter((p) => p.inputs[0] === keyBy.id);
    keyed.push(
      Object.freeze({ keyBy, map, windows: Object.freeze(windows), processes: Object.freeze(processes) }),
    );
  }

  return Object.freeze({
    topology: topo,
    sources: Object.freeze(ofKind('source')),
    pre: Object.freeze(pre),
    keyed: Object.freeze(keyed),
    sinks: Object.freeze(ofKind('sink')),
  });
}
