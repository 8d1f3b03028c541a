import { InternalError } from '../shared/errors.js';
import type { EncodedBranch, ProcessChunk, ShardResponse } from './protocol.js';
import { columnBuffers, type ShardPool } from './shard-pool.js';

/** A shard's output of one process call. */
export type ShardOutput = Extract<ShardResponse, { type: 'output' }>;

/** The records routed to one shard and not yet answered. */
class ShardLink<T> {
  chunks: ProcessChunk[] = [];
  pending = 0;
  inFlight: Promise<void> | null = null;
  sentClock = Number.NEGATIVE_INFINITY;
  covered: T[] = [];
  constructor(readonly shard: number) {}
}

/** What a {@link ShardRouter} is told and asks. */
export interface ShardRouterOptions<T> {
  readonly pool: ShardPool;
  readonly shards: number;
  /** The clock the shards process up to. */
  readonly clock: () => number;
  /** Shards validate and format rows where they fire. */
  readonly rowsAsLines: boolean;
  /** A shard answered with what fired (`records`: how many it processed, `seconds`: how long it took). */
  readonly onOutput: (shard: number, res: ShardOutput, records: number, seconds: number) => void;
  /** A shard is done with what a routed batch held (e.g. a source batch's bytes). */
  readonly release: (item: T) => void;
}

/**
 * Routes decoded records to the shard actors on the pool, one process call in flight per shard:
 * what arrives while a shard works is sent, with the clock, when it answers. Bounds the records
 * buffered and in flight (backpressure on the reader), and remembers the first failure.
 */
export class ShardRouter<T> {
  private readonly links: ShardLink<T>[];
  private failure: unknown = null;
  private inFlightRecords = 0;
  private pendingRecords = 0;

  constructor(private readonly opts: ShardRouterOptions<T>) {
    this.links = Array.from({ length: opts.shards }, (_, s) => new ShardLink<T>(s));
  }

  /** Throws the first failure of a shard call, if any. */
  check(): void {
    if (this.failure !== null) throw this.failure;
  }

  /** Records buffered or in flight. */
  get buffered(): number {
    return this.pendingRecords + this.inFlightRecords;
  }

  /**
   * Queues shard s's branches of a batch (`baseClock`: the clock before it); `item` is released
   * when the shard has answered them. Returns the records queued per branch.
   */
  route(s: number, branches: ReadonlyArray<EncodedBranch | null>, baseClock: number, item: T): number {
    const link = this.links[s]!;
    let n = 0;
    for (const b of branches) n += b?.count ?? 0;
    link.chunks.push({ branches: branches as Array<EncodedBranch | null>, baseClock });
    link.pending += n;
    this.pendingRecords += n;
    link.covered.push(item);
    return n;
  }

  /** Sends every shard what is queued for it (and the clock, when it moved). */
  sendAll(): void {
    for (const l of this.links) this.send(l);
  }

  /** Waits while more than `max` records are buffered or in flight. */
  async throttle(max: number): Promise<void> {
    while (this.buffered > max && this.failure === null) {
      await Promise.race(this.inFlight());
      this.sendAll();
    }
  }

  /** Sends everything and waits until every shard has answered. */
  async drain(): Promise<void> {
    for (;;) {
      this.sendAll();
      const busy = this.inFlight();
      this.check();
      if (busy.length === 0) return;
      await Promise.allSettled(busy);
    }
  }

  private inFlight(): Promise<void>[] {
    return this.links.filter((l) => l.inFlight !== null).map((l) => l.inFlight!);
  }

  private send(link: ShardLink<T>): void {
    if (link.inFlight !== null || this.failure !== null) return;
    const now = this.opts.clock();
    if (link.pending === 0 && now === link.sentClock) return;
    const chunks = link.chunks;
    link.chunks = [];
    const transfer = columnBuffers(chunks);
    const n = link.pending;
    const covered = link.covered;
    link.covered = [];
    link.pending = 0;
    this.pendingRecords -= n;
    this.inFlightRecords += n;
    link.sentClock = now;
    const sentAt = performance.now();
    const req = {
      type: 'process' as const,
      shard: link.shard,
      chunks,
      endClock: now,
      now: Date.now(),
      rowsAsLines: this.opts.rowsAsLines,
    };
    link.inFlight = this.opts.pool.call(req, transfer).then((res) => {
      if (res.type !== 'output')
        throw new InternalError(`shard ${link.shard} answered ${res.type} to process`);
      this.opts.onOutput(link.shard, res, n, (performance.now() - sentAt) / 1000);
      for (const c of covered) this.opts.release(c);
      this.inFlightRecords -= n;
      link.inFlight = null;
      this.send(link);
    });
    link.inFlight.catch((err: unknown) => {
      this.failure ??= err;
    });
  }
}
