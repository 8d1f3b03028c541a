import type { ProviderStats } from '../../../operators/providers.js';
import type { KafkaMessage } from 'kafkajs';
import type { DeadLetterMessage } from '../../connectors/kafka/dead-letter-topic.js';
import type { FrameDeadLetter, RepartitionFrame } from '../../connectors/kafka/frame.js';
import { type PayloadDecoder, rawText } from '../../connectors/kafka/payload.js';
import { InternalError } from '../../shared/errors.js';
import type { ShardPool } from '../shard-pool.js';
import type { Topology } from '../../../topology/nodes.js';
import { buildFrame, type FrameSpec } from './frame-build.js';

/** How a source stage decodes: on the shared worker pool, like a file run's batches. */
export interface DecodeStage {
  readonly pool: ShardPool;
  /** Names the compiled chains on the workers (one per job). */
  readonly runId: string;
  /** The topology as JSON text, as decode requests carry it. */
  readonly topologyJson: string;
  /** The run's options of each provider, by provider name. */
  readonly providerOptions: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /**
   * Carry every record's raw text (not only the out-of-order ones): when idle partitions leave
   * the watermark, a record in order in its partition may still be late.
   */
  readonly rawAll: boolean;
  /**
   * The least out-of-orderness bound of the topology's keyed operators ({@link lateBoundOf}): a
   * record can only be late when its event time is at or behind the watermark this bound gives
   * its partition's clock, so only such records carry their raw text.
   */
  readonly lateBound: number;
}

/**
 * The least `outOfOrderness` of a topology's windows and processors (validation requires it of
 * each), nested ones (such as the derived join's private window) included. Every late verdict
 * compares an event time with `watermarkFor(clock, outOfOrderness)` of some operator, and a
 * shard's clock is never ahead of the record's partition clock, so a record whose event time is
 * past `watermarkFor(partitionClock, lateBound)` is late nowhere.
 */
export function lateBoundOf(topology: Topology): number {
  let bound = Number.POSITIVE_INFINITY;
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) visit(x);
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.outOfOrderness === 'number') bound = Math.min(bound, o.outOfOrderness);
      for (const x of Object.values(o)) visit(x);
    }
  };
  for (const n of topology.nodes) if (n.kind === 'window' || n.kind === 'process') visit(n);
  return Number.isFinite(bound) ? Math.max(0, bound) : 0;
}

/** What a decoded chunk of a source partition produced. */
export interface SourceChunk {
  /** One frame per shard (index = shard). */
  readonly frames: RepartitionFrame[];
  /** Non-blank records read. */
  readonly events: number;
  /** For the dead-letter topic. */
  readonly deadLetters: DeadLetterMessage[];
  /** What the batch asked of the providers: distinct keys resolved and how many a cache had. */
  readonly provided: ProviderStats;
  /** Offset after the chunk, and the partition clock after it. */
  readonly next: number;
  readonly end: number;
  readonly eof: boolean;
}

/**
 * The source stage of one source partition: turns its messages into repartition frames. It
 * tracks the partition's next offset and its clock (greatest event time so far), which it
 * commits with the group offset (as the offset's metadata) so that the next owner of the
 * partition resumes with the right clock.
 *
 * @example
 * const t = new SourceTask(3, 'events', null);
 * t.init(1200, 1_736_900_000_000);
 * const chunk = await t.decode(messages, decoder, chains, 8, null);
 * // produce chunk.frames[s] to partition s of the repartition topic, then:
 * t.advance(chunk);
 */
export class SourceTask {
  /** Next source offset to decode. */
  next = 0;
  /** The partition's clock before `next`. */
  base = Number.NEGATIVE_INFINITY;
  /** Reached `end` (`--stop-at-end`). */
  eof = false;
  /** The eof frames went out (repartition mode). */
  eofSent = false;
  /** Offset and metadata last committed for this partition (null: none yet). */
  committed: { offset: number; base: number; eof: boolean } | null = null;
  /** Resolves once `init` ran (the committed offset and clock are known). */
  ready: Promise<void> = Promise.resolve();
  /**
   * Messages read but not decoded yet, offsets ascending from `next` (see {@link gather}). They
   * are not in any checkpoint: after a crash or a rebalance they are read again from `next`.
   */
  private buffer: KafkaMessage[] = [];
  /** When a batch last added to the gathered messages (`performance.now()`). */
  lastGather = 0;

  /**
   * @param end the offset to stop at with `--stop-at-end` (the end offset seen at start), else null
   */
  constructor(
    readonly partition: number,
    readonly topic: string,
    readonly end: number | null,
  ) {}

  /** Starts at a committed position (offset −1/null: from the beginning). */
  init(offset: number | null, base: number, eof = false): void {
    this.buffer = [];
    this.next = offset === null || offset < 0 ? 0 : offset;
    this.base = base;
    this.eof = eof || (this.end !== null && this.next >= this.end);
    if (offset !== null && offset >= 0) this.committed = { offset, base, eof: this.eof };
  }

  /** Goes back to the last committed position (after a rebalance the consumer resumes there). */
  resetToCommitted(): void {
    const c = this.committed;
    this.init(c?.offset ?? null, c?.base ?? Number.NEGATIVE_INFINITY, c?.eof ?? false);
    this.eofSent = false;
  }

  /** Messages not yet decoded and before the end. */
  pending(messages: readonly KafkaMessage[]): KafkaMessage[] {
    return this.after(this.next, messages);
  }

  /** The offset after the last message taken (decoded or gathered). */
  get readTo(): number {
    const last = this.buffer.at(-1);
    return last === undefined ? this.next : Number(last.offset) + 1;
  }

  /** How many messages are gathered and not decoded yet. */
  get gathered(): number {
    return this.buffer.length;
  }

  /**
   * Adds a batch's messages to those waiting to be decoded (those not taken yet and before the
   * end), so that one decode and one frame per shard cover several fetched batches while the
   * partition has more to read: frames of a few records each cost the shards a fetch apiece.
   */
  gather(messages: readonly KafkaMessage[]): void {
    for (const m of this.after(this.readTo, messages)) this.buffer.push(m);
    this.lastGather = performance.now();
  }

  /** The first `n` gathered messages (decode them, send their frames, then {@link advance}). */
  peek(n: number): KafkaMessage[] {
    return this.buffer.slice(0, n);
  }

  private after(from: number, messages: readonly KafkaMessage[]): KafkaMessage[] {
    return messages.filter((m) => {
      const o = Number(m.offset);
      return o >= from && (this.end === null || o < this.end);
    });
  }

  /**
   * Decodes a chunk of messages (offsets ascending, all ≥ `next`) into one frame per shard.
   * Records route to shard `hash(key) mod shards`; dead letters go to shard `partition mod shards`.
   */
  async decode(
    messages: readonly KafkaMessage[],
    decoder: PayloadDecoder,
    stage: DecodeStage,
    shards: number,
  ): Promise<SourceChunk> {
    const offsets = messages.map((m) => Number(m.offset));
    const values = messages.map((m) => m.value);
    const payload = await decoder.decode(values);
    const last = offsets.length === 0 ? this.next - 1 : offsets[offsets.length - 1]!;
    const next = last + 1;
    const eof = this.end !== null && next >= this.end;
    const spec: FrameSpec = {
      partition: this.partition,
      offsets,
      last,
      base: this.base,
      eof,
      rawAll: stage.rawAll,
      lateBound: stage.lateBound,
    };
    const res = await stage.pool.call({
      type: 'decode',
      shard: -1,
      runId: stage.runId,
      topologyJson: stage.topologyJson,
      shards,
      bytes: payload.bytes,
      starts: payload.starts,
      ends: payload.ends,
      firstLine: 0,
      providerOptions: stage.providerOptions,
    });
    if (res.type !== 'decoded') throw new InternalError(`decode answered ${res.type}`);
    const end = Math.max(res.maxTs, this.base);
    const failures = [...payload.failures, ...res.dl].sort((a, b) => a[0] - b[0]);
    const dls: FrameDeadLetter[] = [];
    const dlq: DeadLetterMessage[] = [];
    for (const [i, reason, detail] of failures) {
      const m = messages[i]!;
      const key = m.key === null || m.key === undefined ? null : m.key.toString('utf8');
      dls.push({ offset: offsets[i]!, reason, detail, key, ...rawText(m.value) });
      dlq.push({
        topic: this.topic,
        partition: this.partition,
        offset: offsets[i]!,
        reason,
        detail,
        key: m.key ?? null,
        value: m.value,
        ...(m.headers === undefined ? {} : { headers: m.headers }),
      });
    }
    const frames: RepartitionFrame[] = [];
    for (let s = 0; s < shards; s++) {
      const deadLetters = s === this.partition % shards ? dls : [];
      frames.push(buildFrame(spec, res.perShard[s] ?? null, payload.line, end, deadLetters));
    }
    // The frames hold copies of what they need: the batch's bytes can serve a later batch.
    decoder.release(payload);
    return {
      frames,
      events: res.events + payload.failures.length,
      provided: res.provided ?? {},
      deadLetters: dlq,
      next,
      end,
      eof,
    };
  }

  /** Frames that only say "this partition ended" (nothing left to read at start). */
  eofFrames(shards: number): RepartitionFrame[] {
    return Array.from({ length: shards }, () => ({
      partition: this.partition,
      last: this.next - 1,
      base: this.base,
      end: this.base,
      eof: true,
      branches: [],
      deadLetters: [],
    }));
  }

  /** The chunk's frames are durable downstream: move on (and drop the gathered messages it covered). */
  advance(chunk: SourceChunk): void {
    this.next = chunk.next;
    let drop = 0;
    while (drop < this.buffer.length && Number(this.buffer[drop]!.offset) < chunk.next) drop++;
    if (drop > 0) this.buffer = this.buffer.slice(drop);
    this.base = chunk.end;
    if (chunk.eof) {
      this.eof = true;
      this.eofSent = true;
    }
  }
}
