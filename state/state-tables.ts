import { ConfigError, InternalError } from '../src/shared/errors.js';
import { KeyedStateTable, parseStoredVersion } from './keyed-state-table.js';

/**
 * How a table's values are stored: the format version this code writes, the value as stored and
 * back, and the migration chain from older versions. The chain is the only place a stored format
 * changes: `migrate(from, stored)` turns version `from` into `from + 1`, and loading runs it step
 * by step up to `version`.
 */
export interface TableCodec<V> {
  /** The format version this code writes (an integer ≥ 1). */
  readonly version: number;
  /** A value as stored (default: the value itself, for string tables). Called at checkpoints only. */
  readonly encode?: (value: V) => string;
  /** A stored value back; `key` is the entry's key (`''` for a single value). */
  readonly decode?: (stored: string, key: string) => V;
  /** Turns a value stored by the older format version `from` into the format of `from + 1`. */
  readonly migrate?: (from: number, stored: string) => string;
}

/**
 * The kinds of state table an operator declares:
 * - `keyed`: key → value, entries `<name>/<key>` and `@version/<name>` (per-key window panes, sessions);
 * - `time-keyed`: the same keyed by a number (an event time or a sequence), entries `<name>/<n>`;
 * - `value`: one value, the entry `<name>` (a watermark, a centroid); `@version/<name>` only once
 *   its format version is above 1 (version 1 has no entry, as snapshots of 0.1.0 have none);
 * - `scope`: the tables of a nested operator, under `<name>/` (their version entries too);
 * - `hooks`: an operator written against 0.1.0's lifecycle (plugins), which restores and
 *   checkpoints its own entries: it gets every entry no other table holds ({@link hooksTable}).
 */
export type TableDecl =
  | {
      readonly kind: 'keyed' | 'time-keyed' | 'value';
      readonly name: string;
      readonly codec: TableCodec<unknown>;
    }
  | { readonly kind: 'scope'; readonly name: string; readonly tables: readonly TableDecl[] }
  | { readonly kind: 'hooks'; readonly name: ''; readonly hooks: StateHooks };

/** The restore and checkpoint hooks of an operator that keeps its own entries. */
export interface StateHooks {
  onStart?(entries: ReadonlyMap<string, string>): void;
  onCheckpoint?(): Map<string, string | null>;
}

/** Declares a keyed table. */
export function keyedTable<V>(name: string, codec: TableCodec<V>): TableDecl {
  return { kind: 'keyed', name, codec: codec as unknown as TableCodec<unknown> };
}

/** Declares a table keyed by a number (an event time or a sequence number). */
export function timeKeyedTable<V>(name: string, codec: TableCodec<V>): TableDecl {
  return { kind: 'time-keyed', name, codec: codec as unknown as TableCodec<unknown> };
}

/** Declares a single-value table. */
export function valueTable<V>(name: string, codec: TableCodec<V>): TableDecl {
  return { kind: 'value', name, codec: codec as unknown as TableCodec<unknown> };
}

/**
 * Declares the entries of an operator that restores and checkpoints them itself through
 * `onStart` / `onCheckpoint` (a plugin's operator written against 0.1.0's lifecycle): every entry
 * no other declared table holds goes to its `onStart`, and what its `onCheckpoint` returns is
 * stored as is. The shipped operators declare their tables instead.
 */
export function hooksTable(hooks: StateHooks): TableDecl {
  return { kind: 'hooks', name: '', hooks };
}

/** Declares a nested operator's tables, stored under `<name>/`. */
export function scopeTables(name: string, tables: readonly TableDecl[]): TableDecl {
  return { kind: 'scope', name, tables };
}

/**
 * Adds one migration step at the end of a codec's chain: values stored at `codec.version` go
 * through `step` (and values of older versions through the codec's own steps first). The new
 * codec writes version `codec.version + 1`.
 */
export function withStep<V>(codec: TableCodec<V>, step: (stored: string) => string): TableCodec<V> {
  const last = codec.version;
  const migrate = codec.migrate;
  return {
    ...codec,
    version: last + 1,
    migrate: (from, stored) => {
      if (from === last) return step(stored);
      if (migrate === undefined) {
        throw new InternalError(`no migration from format version ${from} to ${from + 1}`);
      }
      return migrate(from, stored);
    },
  };
}

/** True when checkpoint entry `key` (without the operator's id) belongs to one of `tables`. */
export function isDeclared(tables: readonly TableDecl[], key: string): boolean {
  for (const t of tables) {
    if (t.kind === 'hooks') return true;
    if (t.kind === 'scope') {
      if (key.startsWith(`${t.name}/`) && isDeclared(t.tables, key.slice(t.name.length + 1))) return true;
    } else if (t.kind === 'value') {
      if (key === t.name || (t.codec.version > 1 && key === `@version/${t.name}`)) return true;
    } else if (key.startsWith(`${t.name}/`) || key === `@version/${t.name}`) return true;
  }
  return false;
}

/** A single value, written at the next checkpoint after it changed. */
export class ValueTable<V> {
  readonly name: string;
  readonly codec: TableCodec<V>;
  #value: V | undefined;
  #dirty = false;
  #versionWritten = false;

  constructor(name: string, codec: TableCodec<V>) {
    this.name = name;
    this.codec = codec;
    checkVersion(name, codec.version);
    // Version 1 of a single value has no version entry (0.1.0's layout).
    this.#versionWritten = codec.version === 1;
  }

  get versionKey(): string {
    return `@version/${this.name}`;
  }

  get(): V | undefined {
    return this.#value;
  }

  /** Sets the value (written at the next checkpoint). */
  set(value: V): void {
    this.#value = value;
    this.#dirty = true;
  }

  /** Marks a value changed in place. */
  touch(): void {
    this.#dirty = true;
  }

  /** The change since the last call (`<name>` → the encoded value), ready for `CheckpointStore.prepare`. */
  takeChanges(into = new Map<string, string | null>()): Map<string, string | null> {
    if (this.#dirty) {
      const v = this.#value;
      const encode = this.codec.encode ?? ((x: V) => x as unknown as string);
      into.set(this.name, v === undefined ? null : encode(v));
      this.#dirty = false;
    }
    if (!this.#versionWritten) {
      into.set(this.versionKey, String(this.codec.version));
      this.#versionWritten = true;
    }
    return into;
  }

  /** Restores the stored value (undefined: none) of stored format version `storedVersion`. */
  loadEntry(storedVersion: string | undefined, stored: string | undefined): void {
    const from = parseStoredVersion(this.name, storedVersion);
    checkLoadable(this.name, from, this.codec);
    this.#dirty = false;
    this.#versionWritten =
      this.codec.version === 1 || (storedVersion !== undefined && from === this.codec.version);
    if (stored === undefined) {
      this.#value = undefined;
      return;
    }
    let s = stored;
    for (let v = from; v < this.codec.version; v++) s = this.codec.migrate!(v, s);
    const decode = this.codec.decode ?? ((x: string) => x as unknown as V);
    this.#value = decode(s, '');
    if (from < this.codec.version) this.#dirty = true;
  }

  clear(): void {
    this.#value = undefined;
    this.#dirty = false;
  }
}

/** A keyed table whose keys are numbers (event times or sequence numbers), stored as decimal keys. */
export class TimeKeyedTable<V> {
  readonly #t: KeyedStateTable<V>;

  constructor(name: string, codec: TableCodec<V>) {
    this.#t = new KeyedStateTable<V>({ name, ...codec });
  }

  get name(): string {
    return this.#t.name;
  }

  /** The underlying string-keyed table (for the runtime's loading and checkpointing). */
  get table(): KeyedStateTable<V> {
    return this.#t;
  }

  get size(): number {
    return this.#t.size;
  }

  get(t: number): V | undefined {
    return this.#t.get(String(t));
  }

  has(t: number): boolean {
    return this.#t.has(String(t));
  }

  set(t: number, value: V): void {
    this.#t.set(String(t), value);
  }

  delete(t: number): boolean {
    return this.#t.delete(String(t));
  }

  *keys(): IterableIterator<number> {
    for (const k of this.#t.keys()) yield Number(k);
  }

  values(): IterableIterator<V> {
    return this.#t.values();
  }
}

type Built =
  | { readonly kind: 'keyed'; readonly table: KeyedStateTable<unknown> }
  | { readonly kind: 'time-keyed'; readonly table: TimeKeyedTable<unknown> }
  | { readonly kind: 'value'; readonly table: ValueTable<unknown> }
  | { readonly kind: 'scope'; readonly table: OperatorTables };

/**
 * The state tables of one operator, built from what it declares ({@link TableDecl}). The
 * runtime builds them ({@link build}), hands them to the operator (`Operator.attach`), loads a
 * restored snapshot into them ({@link load}: the one place entries are routed to tables by
 * their names) and takes their changes at a checkpoint ({@link takeChanges}: the one place
 * entries get their table's name, and each table its format version). An operator only reads
 * and writes values through the handles it gets ({@link keyed}, {@link timeKeyed},
 * {@link value}, {@link scope}).
 *
 * @example
 * const tables = OperatorTables.build(op.tables);
 * op.attach(tables);
 * tables.load(restoredEntriesOfOp); // 'k/user-1', '@version/k', 'wm', 'w/k/m1', …
 * op.restored?.();
 * const changes = tables.takeChanges();
 */
export class OperatorTables {
  readonly #tables = new Map<string, Built>();
  /** Names of keyed, time-keyed and scope tables, longest first (for routing `<name>/…` entries). */
  readonly #prefixes: string[];
  /** An operator keeping its own entries: it gets those no table holds. */
  readonly #hooks: StateHooks | null = null;

  private constructor(decls: readonly TableDecl[]) {
    for (const d of decls) {
      if (d.kind === 'hooks') {
        if (this.#hooks !== null) throw new InternalError('state hooks are declared twice');
        this.#hooks = d.hooks;
        continue;
      }
      if (this.#tables.has(d.name)) throw new InternalError(`state table ${d.name} is declared twice`);
      let built: Built;
      if (d.kind === 'scope') built = { kind: 'scope', table: new OperatorTables(d.tables) };
      else if (d.kind === 'value') built = { kind: 'value', table: new ValueTable(d.name, d.codec) };
      else if (d.kind === 'time-keyed')
        built = { kind: 'time-keyed', table: new TimeKeyedTable(d.name, d.codec) };
      else built = { kind: 'keyed', table: new KeyedStateTable({ name: d.name, ...d.codec }) };
      this.#tables.set(d.name, built);
    }
    this.#prefixes = decls
      .filter((d) => d.kind !== 'value' && d.kind !== 'hooks')
      .map((d) => d.name)
      .sort((a, b) => b.length - a.length);
  }

  /** Builds the tables an operator declares. */
  static build(decls: readonly TableDecl[]): OperatorTables {
    return new OperatorTables(decls);
  }

  /** The keyed table `name`. */
  keyed<V>(name: string): KeyedStateTable<V> {
    return this.#get(name, 'keyed') as KeyedStateTable<V>;
  }

  /** The time-keyed table `name`. */
  timeKeyed<V>(name: string): TimeKeyedTable<V> {
    return this.#get(name, 'time-keyed') as TimeKeyedTable<V>;
  }

  /** The single-value table `name`. */
  value<V>(name: string): ValueTable<V> {
    return this.#get(name, 'value') as ValueTable<V>;
  }

  /** The tables of the nested operator `name`. */
  scope(name: string): OperatorTables {
    return this.#get(name, 'scope') as OperatorTables;
  }

  #get(name: string, kind: Built['kind']): unknown {
    const t = this.#tables.get(name);
    if (t === undefined || t.kind !== kind) {
      throw new InternalError(`no ${kind} state table ${name} is declared`);
    }
    return t.table;
  }

  /**
   * Replaces every table's contents with a restored snapshot's entries of this operator (keys
   * without the operator's id), migrating older formats. An entry no declared table holds is
   * refused: state this build would silently drop.
   */
  load(entries: ReadonlyMap<string, string>): void {
    const perTable = new Map<string, Map<string, string>>();
    const versions = new Map<string, string>();
    const unclaimed = new Map<string, string>();
    const undeclared = (k: string, v: string): void => {
      if (this.#hooks === null) throw undeclaredEntry(k);
      unclaimed.set(k, v);
    };
    for (const name of this.#tables.keys()) perTable.set(name, new Map());
    for (const [k, v] of entries) {
      if (k.startsWith('@version/')) {
        const name = k.slice('@version/'.length);
        if (this.#tables.has(name) && this.#tables.get(name)!.kind !== 'scope') {
          versions.set(name, v);
        } else undeclared(k, v);
        continue;
      }
      const value = this.#tables.get(k);
      if (value?.kind === 'value') {
        perTable.get(k)!.set('', v);
        continue;
      }
      const name = this.#prefixes.find((p) => k.length > p.length && k[p.length] === '/' && k.startsWith(p));
      if (name === undefined) undeclared(k, v);
      else perTable.get(name)!.set(k.slice(name.length + 1), v);
    }
    for (const [name, t] of this.#tables) {
      const own = perTable.get(name)!;
      if (t.kind === 'scope') t.table.load(own);
      else if (t.kind === 'value') t.table.loadEntry(versions.get(name), own.get(''));
      else if (t.kind === 'keyed') t.table.loadEntries(versions.get(name), own);
      else t.table.table.loadEntries(versions.get(name), own);
    }
    this.#hooks?.onStart?.(unclaimed);
  }

  /** Every table's changes since the last call, keyed as stored (null for a delete). */
  takeChanges(into = new Map<string, string | null>()): Map<string, string | null> {
    for (const [name, t] of this.#tables) {
      if (t.kind === 'scope') {
        for (const [k, v] of t.table.takeChanges()) into.set(`${name}/${k}`, v);
      } else if (t.kind === 'time-keyed') t.table.table.takeChanges(into);
      else t.table.takeChanges(into);
    }
    const own = this.#hooks?.onCheckpoint?.();
    if (own !== undefined) for (const [k, v] of own) into.set(k, v);
    return into;
  }
}

function undeclaredEntry(key: string): ConfigError {
  return new ConfigError(
    `state entry ${JSON.stringify(key)} belongs to no state table this build declares (the state was written by another topology or build: use --fresh, or replay)`,
    { field: 'state' },
  );
}

function checkVersion(name: string, version: number): void {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new ConfigError(`state table ${name}: \`version\` must be an integer ≥ 1, got ${version}`, {
      field: 'version',
    });
  }
}

function checkLoadable<V>(name: string, from: number, codec: TableCodec<V>): void {
  if (from > codec.version) {
    throw new ConfigError(
      `state table ${name} holds format version ${from}, newer than this build's ${codec.version}`,
      { field: 'version' },
    );
  }
  if (from < codec.version && codec.migrate === undefined) {
    throw new ConfigError(
      `state table ${name} holds format version ${from} and declares no migrate() to version ${codec.version}`,
      { field: 'migrate' },
    );
  }
}
