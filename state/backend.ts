/**
 * The key-value interface every state backend implements. Keys and values are strings; keys
 * sort by UTF-16 code unit order (which equals byte order for the ASCII keys featurestream
 * writes), so prefix scans return entries in key order.
 *
 * @example
 * const db = createBackend({ kind: 'memory' });
 * await db.open();
 * await db.batch([{ type: 'put', key: 's:w:gpt-4', value: '{"v":1}' }]);
 * for await (const [k, v] of db.entries('s:')) console.log(k, v);
 */
export type BatchOp =
  | { readonly type: 'put'; readonly key: string; readonly value: string }
  | { readonly type: 'del'; readonly key: string };

export interface StateBackend {
  readonly kind: 'leveldb' | 'memory';
  /** Opens (creating if needed) the location. */
  open(): Promise<void>;
  /** The value at `key`, or undefined. */
  get(key: string): Promise<string | undefined>;
  /** Applies all operations atomically: after a crash either all or none are visible. */
  batch(ops: readonly BatchOp[]): Promise<void>;
  /** Every entry whose key starts with `prefix`, in key order. */
  entries(prefix: string): AsyncIterable<readonly [string, string]>;
  close(): Promise<void>;
}
