import { ConfigError, InternalError } from '../src/errors.js';

export interface KeyedStateTableOptions {
  /** Names the table; its entries are stored as `<name>/<key>`, so tables can share one shard snapshot. */
  readonly name: string;
  /** The version of the value format this code writes (an integer ≥ 1). */
  readonly version: number;
  /** Turns a value written by an older format version `from` into the current format. */
  readonly migrate?: (from: number, value: string) => string;
}

const NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * A keyed state table: an in-memory map from key to a value the caller has already
 * serialized, which remembers which keys changed since the last checkpoint. Stored values
 * carry the format version (`<v>:<value>`); loading an older version runs `migrate`, and the
 * migrated entries are written back at the next checkpoint.
 *
 * @example
 * const counts = new KeyedStateTable({ name: 'counts', version: 2, migrate: (from, v) => (from === 1 ? `{"n":${v}}` : v) });
 * counts.load(snapshot.entries);
 * counts.set('gpt-4', JSON.stringify({ n: 3 }));
 * await store.prepare(id, counts.takeChanges(), meta); // { 'counts/gpt-4' => '2:{"n":3}' }
 */
export class KeyedStateTable {
  readonly name: string;
  readonly version: number;
  readonly #migrate: ((from: number, value: string) => string) | undefined;
  readonly #values = new Map<string, string>();
  readonly #dirty = new Set<string>();

  constructor(options: KeyedStateTableOptions) {
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
    this.#migrate = options.migrate;
  }

  get size(): number {
    return this.#values.size;
  }

  get(key: string): string | undefined {
    return this.#values.get(key);
  }

  has(key: string): boolean {
    return this.#values.has(key);
  }

  /** Sets a value; values are strings, serialized by the caller. */
  set(key: string, value: string): void {
    this.#values.set(key, value);
    this.#dirty.add(key);
  }

  delete(key: string): boolean {
    this.#dirty.add(key);
    return this.#values.delete(key);
  }

  entries(): IterableIterator<[string, string]> {
    return this.#values.entries();
  }

  /** The changes since the last call, keyed `<name>/<key>` and versioned, ready for `CheckpointStore.prepare`. */
  takeChanges(): Map<string, string | null> {
    const changes = new Map<string, string | null>();
    for (const key of this.#dirty) {
      const value = this.#values.get(key);
      changes.set(`${this.name}/${key}`, value === undefined ? null : `${this.version}:${value}`);
    }
    this.#dirty.clear();
    return changes;
  }

  /** Replaces the contents with this table's entries of a restored snapshot, migrating old versions. */
  load(snapshotEntries: ReadonlyMap<string, string>): void {
    this.#values.clear();
    this.#dirty.clear();
    const prefix = `${this.name}/`;
    for (const [storedKey, stored] of snapshotEntries) {
      if (!storedKey.startsWith(prefix)) continue;
      const key = storedKey.slice(prefix.length);
      const colon = stored.indexOf(':');
      const from = Number(stored.slice(0, colon));
      if (colon < 1 || !Number.isSafeInteger(from) || from < 1) {
        throw new InternalError(
          `state table ${this.name}: entry ${JSON.stringify(key)} has no format version`,
        );
      }
      const value = stored.slice(colon + 1);
      if (from === this.version) {
        this.#values.set(key, value);
        continue;
      }
      if (from > this.version) {
        throw new ConfigError(
          `state table ${this.name} holds format version ${from}, newer than this build's ${this.version}`,
          { field: 'version' },
        );
      }
      if (this.#migrate === undefined) {
        throw new ConfigError(
          `state table ${this.name} holds format version ${from} and declares no migrate() to version ${this.version}`,
          { field: 'migrate' },
        );
      }
      this.#values.set(key, this.#migrate(from, value));
      this.#dirty.add(key);
    }
  }
}
