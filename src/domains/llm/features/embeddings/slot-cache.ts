/**
 * The persistent half of the embedding cache: LevelDB directories `slot-0`, `slot-1`, … under one
 * cache directory. LevelDB lets one opener hold a directory at a time (a second open, even in the
 * same process, fails with LEVEL_LOCKED), and several piscina workers of one process embed at
 * once; so each opener claims the first slot nobody holds and keeps it until it closes.
 *
 * Entries are content-addressed and immutable (a key is the model version plus the text's
 * hash), so the slots never disagree: the same key in two slots holds the same vector. A worker
 * that claims another slot than last time only recomputes what its slot lacks.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { ConfigError, ExternalError } from '../../../../shared/errors.js';

/** How many slots an opener tries before giving up (and running without a persistent cache). */
export const DEFAULT_MAX_SLOTS = 64;

/**
 * One claimed slot. Writes are not fsynced: losing the last writes in a machine crash only costs
 * a recomputation.
 *
 * @example
 * const slot = await SlotCache.claim('.featurestream/embeddings');
 * if (slot !== null) {
 *   await slot.putMany([['k', new Uint8Array([1, 2])]]);
 *   const [v] = await slot.getMany(['k']);
 *   await slot.close();
 * }
 */
export class SlotCache {
  /** The claimed directory, `<cacheDir>/slot-<n>`. */
  readonly location: string;
  /** The slot's number n. */
  readonly slot: number;
  readonly #db: ClassicLevel<string, Uint8Array>;

  private constructor(location: string, slot: number, db: ClassicLevel<string, Uint8Array>) {
    this.location = location;
    this.slot = slot;
    this.#db = db;
  }

  /**
   * Claims the lowest-numbered free slot under `cacheDir` (creating directories as needed).
   * Resolves to null when the first `maxSlots` slots are all held by other openers.
   *
   * @throws ExternalError when a slot cannot be opened for another reason than its lock
   *   (permissions, corruption): the message names the directory.
   */
  static async claim(cacheDir: string, maxSlots = DEFAULT_MAX_SLOTS): Promise<SlotCache | null> {
    if (!Number.isInteger(maxSlots) || maxSlots < 1) {
      throw new ConfigError(`embedding cache \`maxSlots\` must be an integer ≥ 1, got ${maxSlots}`, {
        field: 'maxSlots',
      });
    }
    for (let slot = 0; slot < maxSlots; slot++) {
      const location = join(cacheDir, `slot-${slot}`);
      try {
        await mkdir(location, { recursive: true });
      } catch (err) {
        throw new ExternalError(`cannot create embedding cache directory ${location}`, { cause: err });
      }
      const db = new ClassicLevel<string, Uint8Array>(location, {
        keyEncoding: 'utf8',
        valueEncoding: 'view',
      });
      try {
        await db.open();
        return new SlotCache(location, slot, db);
      } catch (err) {
        if (isLocked(err)) continue;
        throw new ExternalError(`cannot open embedding cache ${location}`, { cause: err });
      }
    }
    return null;
  }

  /** The values at `keys`, in order, undefined where absent. */
  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return [];
    try {
      return await this.#db.getMany([...keys]);
    } catch (err) {
      throw new ExternalError(`embedding cache read failed in ${this.location}`, { cause: err });
    }
  }

  /** Writes all entries in one batch. */
  async putMany(entries: readonly (readonly [string, Uint8Array])[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await this.#db.batch(entries.map(([key, value]) => ({ type: 'put' as const, key, value })));
    } catch (err) {
      throw new ExternalError(`embedding cache write failed in ${this.location}`, { cause: err });
    }
  }

  /** Releases the slot for the next opener. */
  async close(): Promise<void> {
    await this.#db.close();
  }
}

function isLocked(err: unknown): boolean {
  // classic-level wraps the lock failure: LEVEL_DATABASE_NOT_OPEN with cause LEVEL_LOCKED.
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === 'LEVEL_LOCKED') return true;
  }
  return false;
}
