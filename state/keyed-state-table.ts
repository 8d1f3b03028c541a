import { ConfigError, InternalError } from '../src/shared/errors.js';

/** Options of a {@link KeyedStateTable}. */
export interface KeyedStateTableOptions<V> {
  /** Names the table (segments joined by `/`); its entries are stored as `<name>/<key>`, so tables can share one snapshot. */
  readonly name: string;
  /** The version of the stored format this code writes (an integer ≥ 1). */
  readonly version: number;
  /** A value as stored (default: the value itself, for string tables). Called at checkpoints only. */
  readonly encode?: (value: V) => string;
  /** A stored value back (default: the stored string itself); `key` is the entry's key. */
  readonly decode?: (stored: string, key: string) => V;
  /** Turns a value stored by the older format version `from` into the format of `from + 1`. */
  readonly migrate?: (from: number, stored: string) => string;
}

const NAME = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

/**
 * A keyed state table: the in-memory map from key to value of one operator's keyed state, which
 * remembers which keys changed since the last checkpoint and writes only those. Values live
 * decoded (a window's panes, a session list); they are encoded when a checkpoint takes them, so
 * a key updated a thousand times between two checkpoints is encoded once. A value changed in
 * place is marked with {@link touch}.
 *
 * Snapshot layout: `<name>/<key>` → the encoded value, and `@version/<name>` → the table's
 * format version. A snapshot without a version entry (written before tables carried one) is
 * format version 1. Loading an older version runs `migrate` step by step up to the current one
 * and writes the migrated entries back at the next checkpoint; a newer version is refused.
 *
 * @example
 * const sessions = new KeyedStateTable<Session[]>({
 *   name: 'k', version: 2,
 *   encode: (s) => JSON.stringify(s), decode: (s) => JSON.parse(s),
 *   migrate: (from, s) => (from === 1 ? JSON.stringify(JSON.parse(s).s) : s),
 * });
 * sessions.load(snapshot.entries);
 * sessions.get('user-1')?.push(next);
 * sessions.touch('user-1');
 * await store.prepare(id, sessions.takeChanges(), meta); // { 'k/user-1' => '[…]', '@version/k' => '2' }
 */
export class KeyedStateTable<V = string> {
  readonly name: string;
  readonly version: number;
  readonly #encode: (value: V) => string;
  readonly #decode: (stored: string, key: string) => V;
  readonly #migrate: ((from: number, stored: string) => string) | undefined;
  readonly #values = new Map<string, V>();
  readonly #dirty = new Set<string>();
  /** Keys added since the last checkpoint that no snapshot holds: deleting one writes nothing. */
  readonly #fresh = new Set<string>();
  #versionWritten = false;

  constructor(options: KeyedStateTableOptions<V>) {
    if (!NAME.test(options.name)) {
      throw new ConfigError(`state table \`name\` must match ${NAME}, got ${JSON.stringify(options.name)}`, {
        field: 'name',
      });
    }
    if (!Number.isSafeInteger(options.version) || options.version < 1) {
      throw new ConfigError(`state table \`version\` must be an integer ≥ 1, got ${options.version}`, {
        field: 'version',
      });
    }
    this.name = options.name;
    this.version = options.version;
    this.#encode = options.encode ?? ((v) => v as unknown as string);
    this.#decode = options.decode ?? ((s) => s as unknown as V);
    this.#migrate = options.migrate;
  }

  /** The snapshot key of this table's format version. */
  get versionKey(): string {
    return `@version/${this.name}`;
  }

  get size(): number {
    return this.#values.size;
  }

  get(key: string): V | undefined {
    return this.#values.get(key);
  }

  has(key: string): boolean {
    return this.#values.has(key);
  }

  /** Sets a key's value (written at the next checkpoint). */
  set(key: string, value: V): void {
    if (!this.#values.has(key) && !this.#dirty.has(key)) this.#fresh.add(key);
    this.#values.set(key, value);
    this.#dirty.add(key);
  }

  /** Marks a key whose value was changed in place (or deleted) as changed. */
  touch(key: string): void {
    this.#dirty.add(key);
  }

  delete(key: string): boolean {
    if (this.#fresh.delete(key)) this.#dirty.delete(key);
    else this.#dirty.add(key);
    return this.#values.delete(key);
  }

  keys(): IterableIterator<string> {
    return this.#values.keys();
  }

  values(): IterableIterator<V> {
    return this.#values.values();
  }

  entries(): IterableIterator<[string, V]> {
    return this.#values.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.#values.entries();
  }

  /** The changes since the last call, keyed `<name>/<key>` (null for a delete), ready for `CheckpointStore.prepare`. */
  takeChanges(into = new Map<string, string | null>()): Map<string, string | null> {
    for (const key of this.#dirty) {
      const value = this.#values.get(key);
      into.set(`${this.name}/${key}`, value === undefined ? null : this.#encode(value));
    }
    this.#dirty.clear();
    this.#fresh.clear();
    if (!this.#versionWritten) {
      into.set(this.versionKey, String(this.version));
      this.#versionWritten = true;
    }
    return into;
  }

  /** Replaces the contents with this table's entries of a restored snapshot, migrating older formats. */
  load(snapshotEntries: ReadonlyMap<string, string>): void {
    const prefix = `${this.name}/`;
    const own = new Map<string, string>();
    for (const [storedKey, stored] of snapshotEntries) {
      if (storedKey.startsWith(prefix)) own.set(storedKey.slice(prefix.length), stored);
    }
    this.loadEntries(snapshotEntries.get(this.versionKey), own);
  }

  /**
   * Replaces the contents with `entries` (key → stored value, keys without the table's name),
   * stored in format version `storedVersion` (undefined: written before tables carried one, 1),
   * migrating older formats.
   */
  loadEntries(storedVersion: string | undefined, entries: Iterable<[string, string]>): void {
    this.#values.clear();
    this.#dirty.clear();
    this.#fresh.clear();
    const from = parseStoredVersion(this.name, storedVersion);
    if (from > this.version) {
      throw new ConfigError(
        `state table ${this.name} holds format version ${from}, newer than this build's ${this.version}`,
        { field: 'version' },
      );
    }
    const migrate = this.#migrate;
    if (from < this.version && migrate === undefined) {
      throw new ConfigError(
        `state table ${this.name} holds format version ${from} and declares no migrate() to version ${this.version}`,
        { field: 'migrate' },
      );
    }
    this.#versionWritten = storedVersion !== undefined && from === this.version;
    for (const [key, stored] of entries) {
      let value = stored;
      for (let v = from; v < this.version; v++) value = migrate!(v, value);
      this.#values.set(key, this.#decode(value, key));
      if (from < this.version) this.#dirty.add(key);
    }
  }

  /** Empties the table (nothing is written for it: for a fresh start). */
  clear(): void {
    this.#values.clear();
    this.#dirty.clear();
    this.#fresh.clear();
  }
}

/** A table's stored format version (`@version/<name>`; none: 1). */
export function parseStoredVersion(name: string, storedVersion: string | undefined): number {
  const from = storedVersion === undefined ? 1 : Number(storedVersion);
  if (!Number.isSafeInteger(from) || from < 1) {
    throw new InternalError(`state table ${name}: bad format version ${JSON.stringify(storedVersion)}`);
  }
  return from;
}
