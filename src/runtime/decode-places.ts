/**
 * Where decode requests run: each worker has one place for a decode (a worker runs its decodes
 * one at a time anyway), and a decode waits for the first place to come free. A worker busy with
 * its shards' records frees its place later, so it is handed fewer batches to decode and the
 * other workers more: the decode stage follows the shards' load instead of splitting evenly
 * (a shard holding a constant key, e.g. the derived join's, made its worker finish last while
 * the others waited at the end of the input).
 *
 * @example
 * const places = new DecodePlaces(2);
 * const slot = await places.take(); // 0, then 1, then waits
 * try { await pool.run(withSlot(req, slot)); } finally { places.give(slot); }
 */
export class DecodePlaces {
  private readonly busy: boolean[];
  private readonly waiting: Array<{
    readonly resolve: (slot: number) => void;
    readonly reject: (err: Error) => void;
  }> = [];
  private closed: Error | null = null;
  /** The slot given a place last: free places are taken in turn, from the next one. */
  private last = -1;

  constructor(workers: number) {
    this.busy = new Array<boolean>(workers).fill(false);
  }

  /** Resolves with a worker slot whose decode place is now taken. */
  take(): Promise<number> {
    if (this.closed !== null) return Promise.reject(this.closed);
    const n = this.busy.length;
    for (let k = 1; k <= n; k++) {
      const slot = (this.last + k) % n;
      if (!this.busy[slot]) {
        this.busy[slot] = true;
        this.last = slot;
        return Promise.resolve(slot);
      }
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Frees a slot's place (its decode answered): the oldest waiting decode takes it. */
  give(slot: number): void {
    const next = this.waiting.shift();
    if (next === undefined) this.busy[slot] = false;
    else {
      this.last = slot;
      next.resolve(slot);
    }
  }

  /** No more places (the pool is destroyed): the waiting decodes and later ones fail with `err`. */
  close(err: Error): void {
    this.closed = err;
    for (const w of this.waiting.splice(0)) w.reject(err);
  }
}
