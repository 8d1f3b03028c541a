/**
 * An immutable topology builder: every call returns a new builder and leaves the one it was
 * called on unchanged, so a partial builder can be shared and branched safely (kysely style).
 * Nothing is checked until {@link TopologyBuilder.build}, which validates the whole graph.
 *
 * @example
 * const t = topology('perf')
 *   .describe('latency features per model')
 *   .source('events')
 *   .decode('decoded', 'events', 'llm-events')
 *   .filter('perf_events', 'decoded', 'event-type', { type: 'performance_metrics' })
 *   .map('perf_extract', 'perf_events', 'perf-extract', { fields, attributes: ['model'] })
 *   .keyBy('by_model', 'perf_extract', 'model')
 *   .window('perf_5min', 'by_model', { key: 'model', window: { type: 'tumbling', size: 300_000 }, ... })
 *   .sink('features', ['perf_5min'])
 *   .build();
 */
import {
  DecodeNode,
  FilterNode,
  freezeTopology,
  type JsonValue,
  KeyByNode,
  MapNode,
  SinkNode,
  SourceNode,
  type Topology,
  type TopologyNode,
  ProcessNode,
  WindowNode,
} from './nodes.js';
import { validateTopology } from './validate.js';

/** Options every node accepts. */
export interface NodeOptions {
  readonly description?: string;
}

/** What a map node declares besides its function: the extractor's fields and attributes, and params. */
export interface MapOptions extends NodeOptions {
  /** The numeric fields the extractor produces, in its order (see `MAPS` in operators/functions.ts, the function table). */
  readonly fields: readonly string[];
  /** The string attributes the extractor produces (candidate keys). */
  readonly attributes: readonly string[];
  readonly params?: JsonValue;
}

/** Everything a window node holds except its kind, id and inputs. */
export type WindowProps = Omit<WindowNode, 'kind' | 'id' | 'inputs'>;

/** Everything a process node holds except its kind, id and inputs. */
export type ProcessProps = Omit<ProcessNode, 'kind' | 'id' | 'inputs'>;

/** An immutable topology builder. Obtain one with {@link topology}. */
export interface TopologyBuilder {
  /** The topology name. */
  readonly name: string;
  /** The topology description, if {@link describe} was called. */
  readonly description: string | undefined;
  /** The nodes added so far, in call order, not yet validated. */
  readonly nodes: readonly TopologyNode[];

  /** Adds the entry node: the events of the configured source. */
  source(id: string, opts?: NodeOptions): TopologyBuilder;
  /** Decodes `input` with the registered `schema` (see `operators/schemas.ts`). */
  decode(id: string, input: string, schema: string, opts?: NodeOptions): TopologyBuilder;
  /** Keeps the events of `input` for which the registered predicate `fn` holds (see `FILTERS`). */
  filter(id: string, input: string, fn: string, params?: JsonValue, opts?: NodeOptions): TopologyBuilder;
  /** Turns events of `input` into records with the registered extractor `fn` (see `MAPS`). */
  map(id: string, input: string, fn: string, opts: MapOptions): TopologyBuilder;
  /** Partitions the records of `input` by the attribute `key`. */
  keyBy(id: string, input: string, key: string, opts?: NodeOptions): TopologyBuilder;
  /** Adds a keyed event-time window over `input` (a keyBy). */
  window(id: string, input: string, props: WindowProps): TopologyBuilder;
  /** Adds a keyed per-record processor over `input` (a keyBy); see `PROCESSORS`. */
  process(id: string, input: string, props: ProcessProps): TopologyBuilder;
  /** Collects the feature rows of one or more windows. */
  sink(id: string, inputs: string | readonly string[], opts?: NodeOptions): TopologyBuilder;
  /** Adds an already-made node as is. */
  add(node: TopologyNode): TopologyBuilder;
  /** Sets the topology description. */
  describe(text: string): TopologyBuilder;
  /** The topology as built so far, deeply frozen, without validation (for drawing drafts). */
  toTopology(): Topology;
  /**
   * Validates the graph and returns it deeply frozen.
   * @throws TopologyError naming the node, field and rule that failed.
   */
  build(): Topology;
}

/** Drops keys whose value is `undefined`, so built nodes serialize to JSON and back unchanged. */
function defined<T extends object>(props: T): T {
  return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined)) as T;
}

class Builder implements TopologyBuilder {
  readonly name: string;
  readonly description: string | undefined;
  readonly nodes: readonly TopologyNode[];

  constructor(name: string, description: string | undefined, nodes: readonly TopologyNode[]) {
    this.name = name;
    this.description = description;
    this.nodes = Object.freeze(nodes);
    Object.freeze(this);
  }

  add(node: TopologyNode): TopologyBuilder {
    return new Builder(this.name, this.description, [...this.nodes, node]);
  }

  source(id: string, opts: NodeOptions = {}): TopologyBuilder {
    return this.add(SourceNode.create(defined({ id, description: opts.description })));
  }

  decode(id: string, input: string, schema: string, opts: NodeOptions = {}): TopologyBuilder {
    return this.add(
      DecodeNode.create(defined({ id, inputs: [input], schema, description: opts.description })),
    );
  }

  filter(id: string, input: string, fn: string, params?: JsonValue, opts: NodeOptions = {}): TopologyBuilder {
    return this.add(
      FilterNode.create(defined({ id, inputs: [input], fn, params, description: opts.description })),
    );
  }

  map(id: string, input: string, fn: string, opts: MapOptions): TopologyBuilder {
    const { fields, attributes, params, description } = opts;
    return this.add(
      MapNode.create(defined({ id, inputs: [input], fn, fields, attributes, params, description })),
    );
  }

  keyBy(id: string, input: string, key: string, opts: NodeOptions = {}): TopologyBuilder {
    return this.add(KeyByNode.create(defined({ id, inputs: [input], key, description: opts.description })));
  }

  window(id: string, input: string, props: WindowProps): TopologyBuilder {
    return this.add(WindowNode.create(defined({ ...props, id, inputs: [input] })));
  }

  process(id: string, input: string, props: ProcessProps): TopologyBuilder {
    return this.add(ProcessNode.create(defined({ ...props, id, inputs: [input] })));
  }

  sink(id: string, inputs: string | readonly string[], opts: NodeOptions = {}): TopologyBuilder {
    const list = typeof inputs === 'string' ? [inputs] : [...inputs];
    return this.add(SinkNode.create(defined({ id, inputs: list, description: opts.description })));
  }

  describe(text: string): TopologyBuilder {
    return new Builder(this.name, text, this.nodes);
  }

  toTopology(): Topology {
    return freezeTopology(defined({ name: this.name, description: this.description, nodes: this.nodes }));
  }

  build(): Topology {
    const t = this.toTopology();
    validateTopology(t);
    return t;
  }
}

/**
 * Starts an empty topology.
 * @example
 * const t = topology('demo').source('events').decode('decoded', 'events', 'llm-events');
 */
export function topology(name: string): TopologyBuilder {
  return new Builder(name, undefined, []);
}
