/**
 * Where decode requests run: each worker has one place for a decode (a worker runs its decodes
 * one at a time anyway), and a decode takes the first free place of a worker that is not far
 * behind the others with its shards' records (`load`: the records a worker's shards have in
 * flight). A worker busy with its shards frees its place later and is skipped while it is behind,
 * so it is handed fewer batches to decode and the other workers more: the decode stage follows
 * the shards' load instead of splitting evenly (a shard holding a constant key, e.g. the derived
 * join's, made its worker finish last while the others waited at each checkpoint barrier and at
 * the end of the input).
 *
 * @example
 * const places = new DecodePlaces(2, (slot) => recordsInFlight[slot], 2048);
 * const slot = await places.take();
 * try { await pool.run(withSlot(req, slot)); } finally { places.give(slot); }
 */
export class DecodePlaces {
  private readonly busy: boolean[];
  private readonly waiting: Array<{
    readonly resolve: (slot: number) => void;
    readonly reject: (err: Error) => void;
  }> = [];
  /** The slot given a place last: eligible places are taken in turn, from the next one. */
  private last = -1;
  private closed: Error | null = null;

  constructor(
    workers: number,
    /** A worker slot's shard load (records in flight). */
    private readonly load: (slot: number) => number = () => 0,
    /** How much more load than the least loaded worker a worker may have and still take a decode. */
    private readonly margin = 0,
  ) {
    this.busy = new Array<boolean>(workers).fill(false);
  }

  /** Resolves with a worker slot whose decode place is now taken. */
  take(): Promise<number> {
    if (this.closed !== null) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.dispatch();
    });
  }

  /** Frees a slot's place (its decode answered): the oldest waiting decode may take it. */
  give(slot: number): void {
    this.busy[slot] = false;
    this.dispatch();
  }

  /** The load changed (a shard answered): a waiting decode may now take a place. */
  recheck(): void {
    this.dispatch();
  }

  /** No more places (the pool is destroyed): the waiting decodes and later ones fail with `err`. */
  close(err: Error): void {
    this.closed = err;
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      const slot = this.eligible();
      if (slot < 0) return;
      this.busy[slot] = true;
      this.last = slot;
      this.waiting.shift()!.resolve(slot);
    }
  }

  /** The next free place (in turn) of a worker within `margin` of the least loaded one, or −1. */
  private eligible(): number {
    const n = this.busy.length;
    let least = Number.POSITIVE_INFINITY;
    for (let s = 0; s < n; s++) least = Math.min(least, this.load(s));
    for (let k = 1; k <= n; k++) {
      const slot = (this.last + k) % n;
      if (!this.busy[slot] && this.load(slot) <= least + this.margin) return slot;
    }
    return -1;
  }
}
