import type { Operator } from './operator.js';
import { InternalError } from '../src/shared/errors.js';
import type { JsonValue, ProcessNode } from '../topology/nodes.js';
import { KeyedProcessBase } from './keyed-process-base.js';
import type { Emitter } from './operator.js';

/** What a plugin processor sees of one record. */
export interface ProcessorRecord {
  /** The record's key (the value of the keyBy attribute). */
  readonly key: string;
  /** Event time, ms since the epoch. */
  readonly ts: number;
  /** The processor's event-time watermark before this record (−∞ at the start). */
  readonly watermark: number;
  /** A numeric field of the map's record; null when missing. */
  field(name: string): number | null;
  /** A string attribute of the map's record. */
  attr(name: string): string;
}

/**
 * One instance of a plugin's keyed processor: per-key state (plain JSON data, checkpointed) and
 * rows emitted as records arrive. Records of a key arrive in source order, on one thread.
 */
export interface ProcessorInstance<S = unknown> {
  /**
   * Handles one record of `record.key`: returns the key's new state (undefined drops it) and
   * emits zero or more rows with `emit(values, entityId?)`; `values` may hold only the node's
   * declared value names (missing ones are null); the entity id defaults to the key.
   */
  onRecord(
    state: S | undefined,
    record: ProcessorRecord,
    emit: (values: Readonly<Record<string, number | null>>, entityId?: string) => void,
  ): S | undefined;
  /** True when a key's state can be dropped at `watermark`. Default: never. */
  expired?(state: S, watermark: number): boolean;
}

/** The keyed-processor definition a plugin registers. */
export interface PluginProcessorDef<S = unknown> {
  readonly description?: string;
  /** Map fields it reads (checked against the topology). */
  readonly requiresFields?: readonly string[];
  /** Map attributes it reads. */
  readonly requiresAttributes?: readonly string[];
  /** Throws (a message naming the parameter) when `params` are not valid. */
  validate?(params: JsonValue | undefined): void;
  create(params: JsonValue | undefined): ProcessorInstance<S>;
}

/**
 * A keyed processor written against the engine's operator lifecycle (`operator.ts`) instead of
 * {@link ProcessorInstance}: full control of state tables, timers and output, as the shipped
 * domains' processors use: declare the state tables and take them in `attach` (extend
 * `TableOperator`, or a keyed base). An operator that restores and checkpoints its own entries
 * (`onStart` / `onCheckpoint`, 0.1.0's lifecycle) still works: it gets the entries no declared
 * table holds. `operator` builds one per shard.
 */
export interface OperatorProcessorDef {
  readonly description?: string;
  readonly requiresFields?: readonly string[];
  readonly requiresAttributes?: readonly string[];
  validate?(params: JsonValue | undefined): void;
  operator(node: ProcessNode, fields: readonly string[], attributes: readonly string[]): Operator;
}

/** Runs a plugin's {@link ProcessorInstance} as a process node, on the shared keyed-processor core. */
export class PluginProcessorOperator extends KeyedProcessBase<unknown> {
  private readonly instance: ProcessorInstance;
  private readonly declared: ReadonlySet<string>;

  constructor(
    node: ProcessNode,
    fields: readonly string[],
    attributes: readonly string[],
    def: PluginProcessorDef,
  ) {
    super(node, fields, attributes);
    this.instance = def.create(node.params);
    this.declared = new Set(this.valueNames);
  }

  protected onRecord(
    key: string,
    ts: number,
    v: (i: number) => number,
    a: (i: number) => string,
    out: Emitter,
  ): void {
    const record: ProcessorRecord = {
      key,
      ts,
      watermark: this.wm,
      field: (name) => KeyedProcessBase.orNull(v(this.field(name))),
      attr: (name) => a(this.attr(name)),
    };
    const emit = (values: Readonly<Record<string, number | null>>, entityId = key) => {
      const row: Record<string, number | null> = {};
      for (const name of this.valueNames) row[name] = null;
      for (const [name, value] of Object.entries(values)) {
        if (!this.declared.has(name)) {
          throw new InternalError(
            `processor \`${this.node.fn}\` (node ${this.id}) emitted \`${name}\`, which the node does not declare (declared: ${this.valueNames.join(', ')})`,
          );
        }
        row[name] = value === null || !Number.isFinite(value) ? null : value;
      }
      out.row(this.row(entityId, ts, row));
    };
    const next = this.instance.onRecord(this.getState(key), record, emit);
    if (next === undefined) this.deleteState(key);
    else this.setState(key, next);
  }

  protected override expired(state: unknown, wm: number): boolean {
    return this.instance.expired?.(state, wm) ?? false;
  }

  protected serialize(state: unknown): unknown {
    return state;
  }

  protected deserialize(data: unknown): unknown {
    return data;
  }
}
