import { decodeTime, encodeTime } from '../../../operators/operator.js';

/**
 * The one codec for what a Kafka member stores in its committed group offsets' metadata. The
 * offsets only say where to resume reading; the metadata carries what the next owner of a
 * partition needs with them, and what tells every member that a bounded run is complete.
 *
 * - A **source** partition (repartition mode): the partition's clock (greatest event time
 *   before the offset) and whether it reached its end (`--stop-at-end`) with its end frames sent.
 * - A **shard** partition: the shard's last checkpoint id and whether it finished.
 *
 * The wire form is small JSON (`{"b":…,"eof":…}`, `{"done":…,"checkpoint":…}`), unchanged from
 * earlier releases so running groups keep their metadata. Anything else decodes to null.
 *
 * @example
 * const text = encodeSourceMeta({ clock: 1_736_900_000_000, eof: false });
 * decodeSourceMeta(text); // { clock: 1736900000000, eof: false }
 */
export interface SourceOffsetMeta {
  readonly clock: number;
  readonly eof: boolean;
}

/** See {@link SourceOffsetMeta}. */
export interface ShardOffsetMeta {
  readonly done: boolean;
  readonly checkpoint: number;
}

export function encodeSourceMeta(m: SourceOffsetMeta): string {
  return JSON.stringify({ b: encodeTime(m.clock), eof: m.eof });
}

export function encodeShardMeta(m: ShardOffsetMeta): string {
  return JSON.stringify({ done: m.done, checkpoint: m.checkpoint });
}

function parse(text: string | null | undefined): Record<string, unknown> | null {
  if (text === null || text === undefined || text === '') return null;
  try {
    const o = JSON.parse(text) as unknown;
    return o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A source partition's metadata, or null (none, or written by something else). */
export function decodeSourceMeta(text: string | null | undefined): SourceOffsetMeta | null {
  const o = parse(text);
  if (o === null || !('b' in o)) return null;
  const b = o.b;
  if (typeof b !== 'number' && b !== '+inf' && b !== '-inf') return null;
  return { clock: decodeTime(b), eof: o.eof === true };
}

/** A shard partition's metadata, or null (none, or written by something else). */
export function decodeShardMeta(text: string | null | undefined): ShardOffsetMeta | null {
  const o = parse(text);
  if (o === null || typeof o.checkpoint !== 'number') return null;
  return { done: o.done === true, checkpoint: o.checkpoint };
}
