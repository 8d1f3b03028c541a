/**
 * The shard of a key: 32-bit FNV-1a of its UTF-16 code units, mod the shard count. Stable
 * across processes and versions: changing it would move keys away from their state.
 *
 * @example shardOf('gpt-4', 8)
 */
export function shardOf(key: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}
