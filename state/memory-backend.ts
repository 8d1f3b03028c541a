import { InternalError } from '../src/shared/errors.js';
import type { BatchOp, StateBackend } from './backend.js';
import { assertWellFormed, validateBatch } from './validate-batch.js';

// The sorted key list is cached per Map (not per backend) so that every backend opened over
// the same Map, as a test "reopening" it does, sees one consistent cache.
const sortedKeysCache = new WeakMap<Map<string, string>, string[]>();

function sortedKeys(map: Map<string, string>): string[] {
  let keys = sortedKeysCache.get(map);
  if (keys === undefined) {
    keys = [...map.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    sortedKeysCache.set(map, keys);
  }
  return keys;
}

/** Index of the first key ≥ `key` in the sorted array. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A {@link StateBackend} held in memory, for tests and for jobs that need no durability.
 * Keys sort by JavaScript string comparison (UTF-16 code units), which matches LevelDB's byte
 * order for ASCII keys. Pass a `Map` to share the data between instances, so that closing one
 * and opening another over the same Map behaves like reopening a database.
 *
 * @example
 * const data = new Map<string, string>();
 * const db = new MemoryBackend(data);
 * await db.open();
 * await db.batch([{ type: 'put', key: 's:a', value: '1' }]);
 * await db.close();
 * const again = new MemoryBackend(data);
 * await again.open();
 * await again.get('s:a'); // '1'
 */
export class MemoryBackend implements StateBackend {
  readonly kind = 'memory' as const;
  readonly #data: Map<string, string>;
  #open = false;

  constructor(data: Map<string, string> = new Map()) {
    this.#data = data;
  }

  async open(): Promise<void> {
    this.#open = true;
  }

  async get(key: string): Promise<string | undefined> {
    this.#requireOpen();
    assertWellFormed(key, 'key');
    return this.#data.get(key);
  }

  async batch(ops: readonly BatchOp[]): Promise<void> {
    this.#requireOpen();
    // Validate everything first, then apply synchronously: no reader can observe half a batch.
    validateBatch(ops);
    if (ops.length === 0) return;
    for (const op of ops) {
      if (op.type === 'put') this.#data.set(op.key, op.value);
      else this.#data.delete(op.key);
    }
    sortedKeysCache.delete(this.#data);
  }

  async *entries(prefix: string): AsyncIterable<readonly [string, string]> {
    this.#requireOpen();
    assertWellFormed(prefix, 'prefix');
    // Copy the matching range when iteration starts, as a LevelDB iterator reads from an
    // implicit snapshot: writes made while iterating are not seen.
    const keys = sortedKeys(this.#data);
    const snapshot: (readonly [string, string])[] = [];
    for (let i = lowerBound(keys, prefix); i < keys.length && keys[i]!.startsWith(prefix); i++) {
      snapshot.push([keys[i]!, this.#data.get(keys[i]!)!]);
    }
    yield* snapshot;
  }

  async close(): Promise<void> {
    this.#open = false;
  }

  #requireOpen(): void {
    if (!this.#open) throw new InternalError('MemoryBackend used while not open: call open() first');
  }
}
