/**
 * A source chunk's frame for one shard, built from the decode stage's columns (see
 * {@link RepartitionFrame}).
 *
 * @example
 * const frame = buildFrame(spec, perShard[s], (i) => lines[i]!, end, s === spec.partition % shards ? dls : []);
 */
import { watermarkFor } from '../../../operators/watermark.js';
import type { FrameDeadLetter, RepartitionFrame } from '../../connectors/kafka/frame.js';
import type { EncodedBranch } from '../protocol.js';

/** What a chunk's frames say beyond its records (see {@link RepartitionFrame}). */
export interface FrameSpec {
  /** The source partition. */
  readonly partition: number;
  /** Source offset of each line of the chunk (the decode stage's refs are line indices). */
  readonly offsets: ArrayLike<number>;
  /** The greatest source offset the chunk accounts for. */
  readonly last: number;
  /** The partition's clock before the chunk. */
  readonly base: number;
  readonly eof: boolean;
  /** Carry every record's raw text, not only those that may be late (see `DecodeStage.rawAll`). */
  readonly rawAll: boolean;
  /** The topology's least out-of-orderness (`lateBoundOf`). */
  readonly lateBound: number;
}

/**
 * The frame of one shard: its branches with refs turned from line indices into source offsets
 * (in place), and the raw text of the records that may be late — those at or behind the
 * watermark their partition's clock gives (only such records can be late anywhere).
 */
export function buildFrame(
  spec: FrameSpec,
  branches: ReadonlyArray<EncodedBranch | null> | null,
  line: (i: number) => string,
  end: number,
  deadLetters: readonly FrameDeadLetter[],
): RepartitionFrame {
  const raws = new Map<number, string>();
  const out: Array<EncodedBranch | null> =
    branches === null
      ? []
      : branches.map((b) => {
          if (b === null) return null;
          const refs = b.refs;
          for (let j = 0; j < b.count; j++) {
            const i = refs[j]!;
            const offset = spec.offsets[i]!;
            refs[j] = offset;
            if (spec.rawAll || b.ts[j]! <= watermarkFor(Math.max(spec.base, b.clock[j]!), spec.lateBound))
              raws.set(offset, line(i));
          }
          return b;
        });
  return {
    partition: spec.partition,
    last: spec.last,
    base: spec.base,
    end,
    eof: spec.eof,
    branches: out,
    deadLetters,
    ...(raws.size === 0 ? {} : { raws: [...raws] }),
  };
}
