import { hooksTable, OperatorTables } from '../state/state-tables.js';
import type { Emitter, Operator, RecordBatch, StateTableSpec } from './operator.js';

/**
 * The tables to build for an operator: those it declares, or, for an operator that keeps its own
 * entries through `onStart` / `onCheckpoint` and takes no tables (a plugin's operator written
 * against 0.1.0's lifecycle), its hooks ({@link hooksTable}).
 */
export function declaredTables(op: Operator): readonly StateTableSpec[] {
  if (op.attach !== undefined) return op.tables;
  return op.onStart !== undefined || op.onCheckpoint !== undefined ? [hooksTable(op)] : [];
}

/** Hands `tables`, built from {@link declaredTables}, to an operator that takes them. */
export function attachTables(op: Operator, tables: OperatorTables): void {
  op.attach?.(tables);
}

/**
 * The base of every operator that keeps state: it declares its tables ({@link tables}), takes
 * the handles it works with when the runtime hands the built tables over ({@link bind}), and
 * otherwise only reads and writes values. Until the runtime attaches its own, an operator works
 * on tables it built from its declaration at construction ({@link attachOwn}), so it can also run
 * standalone (tests) through {@link onStart} and {@link onCheckpoint}, which do what the shard
 * actor does with the tables it built.
 */
export abstract class TableOperator implements Operator {
  abstract readonly id: string;
  abstract readonly tables: readonly StateTableSpec[];
  #state: OperatorTables | null = null;

  /** Takes the runtime's tables; call before anything else. */
  attach(tables: OperatorTables): void {
    this.#state = tables;
    this.bind(tables);
  }

  /** Builds tables from the declaration and attaches them (the end of a subclass's constructor). */
  protected attachOwn(): void {
    this.attach(OperatorTables.build(this.tables));
  }

  /** Takes the handles of the declared tables from `tables`. */
  protected abstract bind(tables: OperatorTables): void;

  /** The tables were loaded from a snapshot. */
  restored(): void {}

  /** A checkpoint takes the tables' changes next. */
  beforeCheckpoint(): void {}

  abstract processBatch(batch: RecordBatch, out: Emitter): void;

  /** Standalone: restores the attached tables from this operator's checkpointed entries. */
  onStart(entries: ReadonlyMap<string, string>): void {
    this.#tables().load(entries);
    this.restored();
  }

  /** Standalone: the attached tables' changes since the last checkpoint. */
  onCheckpoint(): Map<string, string | null> {
    this.beforeCheckpoint();
    return this.#tables().takeChanges();
  }

  #tables(): OperatorTables {
    if (this.#state === null) this.attachOwn();
    return this.#state!;
  }
}
