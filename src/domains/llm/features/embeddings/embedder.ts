/**
 * Prompt embeddings with a two-level cache: a memory LRU bounded in bytes, then a persistent
 * LevelDB cache (see {@link SlotCache}), then the model, in batches. Keys are
 * `MODEL_VERSION:sha256(text)`, so a cached vector is exactly the vector the model computes for
 * that text (the model's output for a text does not depend on the rest of its batch).
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { LRUCache } from 'lru-cache';
import { ConfigError, InternalError } from '../../../../shared/errors.js';
import { type EmbeddingModel, MODEL_VERSION } from './model.js';
import { DEFAULT_EMBEDDER, type EmbedderInfo, type EmbedderName, embedderInfo, loadModel } from './models.js';
import { DEFAULT_MAX_SLOTS, SlotCache } from './slot-cache.js';

/** USE-lite's model version and dimensions (see {@link EMBEDDERS} for every model). */
export { EMBEDDING_DIMS, MODEL_VERSION } from './model.js';
export { DEFAULT_EMBEDDER, EMBEDDERS, type EmbedderName } from './models.js';

/** Default bound of the memory LRU: 32 MiB, about 15,000 vectors. */
export const DEFAULT_LRU_BYTES = 32 * 1024 * 1024;
/** Default number of texts the model embeds per call. */
export const DEFAULT_BATCH_SIZE = 32;

/** Options of {@link Embedder.open}. */
export interface EmbedderOptions {
  /** The model (default {@link DEFAULT_EMBEDDER}, the static word-vector model). */
  readonly model?: EmbedderName;
  /** Directory of the persistent cache (created if needed); null for memory only. */
  readonly cacheDir: string | null;
  /** Bound of the memory LRU in bytes (vectors + keys); 0 turns it off. Default 32 MiB. */
  readonly lruBytes?: number;
  /**
   * Most texts per model call when computing misses. Misses are grouped by token count first
   * (see {@link EmbeddingModel}), so a call may hold fewer. Default 32.
   */
  readonly batchSize?: number;
  /** Slots `slot-0…` tried under `cacheDir` before running without a persistent cache. Default 64. */
  readonly maxSlots?: number;
}

/**
 * Counters since the Embedder opened. Every requested text is counted once, in exactly one of
 * `deduped`, `memoryHits`, `diskHits`, `computed`, so they sum to `requests`.
 */
export interface EmbedderStats {
  /** Texts passed to `embed`, duplicates included. */
  readonly requests: number;
  /** Repeats of a text within one call, or texts another call was already computing. */
  readonly deduped: number;
  readonly memoryHits: number;
  readonly diskHits: number;
  readonly computed: number;
  /** Failed persistent reads or writes, and unreadable stored values (each then a miss). */
  readonly diskErrors: number;
}

/** The cache key of a text: model version (USE-lite's by default) + SHA-256 of its UTF-8 bytes. */
export function embeddingCacheKey(text: string, modelVersion: string = MODEL_VERSION): string {
  return `${modelVersion}:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}

/** Float32 little-endian, whatever the host's byte order. */
function encodeVector(v: Float32Array): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i]!, true);
  return out;
}

function decodeVector(bytes: Uint8Array, dims: number): Float32Array | undefined {
  if (bytes.byteLength !== dims * 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(dims);
  for (let i = 0; i < dims; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Lets {@link sharedEmbedder} forget an instance when it is closed. */
const closeHooks = new WeakMap<Embedder, () => void>();

interface Deferred {
  readonly promise: Promise<Float32Array>;
  resolve(v: Float32Array): void;
  reject(err: unknown): void;
}

function deferred(): Deferred {
  let resolveFn!: (v: Float32Array) => void;
  let rejectFn!: (err: unknown) => void;
  const promise = new Promise<Float32Array>((res, rej) => {
    resolveFn = res;
    rejectFn = rej;
  });
  // Nobody may be waiting when it rejects; the owning call reports the error itself.
  promise.catch(() => {});
  return { promise, resolve: resolveFn, reject: rejectFn };
}

function positiveInt(value: number | undefined, fallback: number, field: string, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`embedder \`${field}\` must be an integer ≥ ${min}, got ${value}`, { field });
  }
  return value;
}

/**
 * Embeds texts with one model ({@link EmbedderName}: the static word-vector model by default, or
 * Universal Sentence Encoder Lite), deduplicating within a call. For USE-lite it also dedupes
 * across concurrent calls and caches in memory and on disk; the static model is cheaper than a
 * cache lookup, so its vectors are always computed (no slot is claimed).
 *
 * Several Embedders may use one `cacheDir` at once, in one process (piscina workers) or several:
 * each claims its own LevelDB slot. If every slot is taken it runs with the memory cache only
 * (`location` is then null). Persistent read and write failures are counted in
 * `stats().diskErrors` and treated as misses: the cache never fails an `embed`.
 *
 * @example
 * const embedder = await Embedder.open({ cacheDir: '.featurestream/embeddings' });
 * const [a, b] = await embedder.embed(['How do I sort a list?', 'Symptoms of flu?']);
 * embedder.stats(); // { requests: 2, computed: 2, ... }
 * await embedder.close();
 */
export class Embedder {
  /** The claimed persistent cache directory, or null when running from memory only. */
  readonly location: string | null;
  /** The model's name, version and dimensions. */
  readonly info: EmbedderInfo;
  readonly #model: EmbeddingModel;
  readonly #slot: SlotCache | null;
  readonly #lru: LRUCache<string, Float32Array> | null;
  readonly #batchSize: number;
  readonly #inFlight = new Map<string, Promise<Float32Array>>();
  readonly #active = new Set<Promise<unknown>>();
  #closed = false;
  #requests = 0;
  #deduped = 0;
  #memoryHits = 0;
  #diskHits = 0;
  #computed = 0;
  #diskErrors = 0;

  private constructor(
    info: EmbedderInfo,
    model: EmbeddingModel,
    slot: SlotCache | null,
    lruBytes: number,
    batchSize: number,
  ) {
    this.info = info;
    this.#model = model;
    this.#slot = slot;
    this.location = slot?.location ?? null;
    this.#batchSize = batchSize;
    this.#lru =
      lruBytes === 0
        ? null
        : new LRUCache<string, Float32Array>({
            maxSize: lruBytes,
            sizeCalculation: (v, k) => v.byteLength + k.length * 2,
          });
  }

  /**
   * Loads the model (once per thread) and claims a persistent cache slot.
   *
   * @throws ConfigError on a bad option (the message names it).
   * @throws ExternalError when the model or the cache directory cannot be opened.
   */
  static async open(opts: EmbedderOptions): Promise<Embedder> {
    const { cacheDir } = opts;
    if (cacheDir !== null && (typeof cacheDir !== 'string' || cacheDir === '')) {
      throw new ConfigError('embedder `cacheDir` must be a non-empty path or null', { field: 'cacheDir' });
    }
    const lruBytes = positiveInt(opts.lruBytes, DEFAULT_LRU_BYTES, 'lruBytes', 0);
    const batchSize = positiveInt(opts.batchSize, DEFAULT_BATCH_SIZE, 'batchSize', 1);
    const maxSlots = positiveInt(opts.maxSlots, DEFAULT_MAX_SLOTS, 'maxSlots', 1);
    const info = embedderInfo(opts.model ?? DEFAULT_EMBEDDER);
    const model = await loadModel(info.name);
    const slot = cacheDir === null || !info.cached ? null : await SlotCache.claim(cacheDir, maxSlots);
    return new Embedder(info, model, slot, info.cached ? lruBytes : 0, batchSize);
  }

  /**
   * One vector per text (`info.dims` values), in order (a fresh copy each: callers may modify them). The same
   * text always gets the same bits, whether computed alone, in a batch, or read from a cache.
   *
   * Rejects with InternalError if the Embedder is closed, a text is not a string, or the model
   * fails.
   */
  embed(texts: readonly string[]): Promise<Float32Array[]> {
    const invalid = this.#checkCall(texts);
    if (invalid !== undefined) return Promise.reject(invalid);
    const run = this.#embed(texts);
    this.#active.add(run);
    const forget = () => this.#active.delete(run);
    run.then(forget, forget);
    return run;
  }

  #checkCall(texts: readonly string[]): InternalError | undefined {
    if (this.#closed) return new InternalError('Embedder.embed called after close()');
    if (!Array.isArray(texts)) return new InternalError('Embedder.embed expects an array of strings');
    const i = texts.findIndex((t) => typeof t !== 'string');
    if (i === -1) return undefined;
    return new InternalError(`Embedder.embed: text ${i} is a ${typeof texts[i]}, not a string`, {
      field: `texts[${i}]`,
    });
  }

  async #embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (!this.info.cached) return this.#compute(texts);
    this.#requests += texts.length;
    const keys = texts.map((t) => embeddingCacheKey(t, this.info.version));
    const textOf = new Map<string, string>();
    keys.forEach((k, i) => {
      if (!textOf.has(k)) textOf.set(k, texts[i]!);
    });
    this.#deduped += texts.length - textOf.size;

    const found = new Map<string, Float32Array>();
    const waiting: [string, Promise<Float32Array>][] = [];
    const owned = new Map<string, Deferred>();
    for (const key of textOf.keys()) {
      const hit = this.#lru?.get(key);
      if (hit !== undefined) {
        this.#memoryHits++;
        found.set(key, hit);
        continue;
      }
      const pending = this.#inFlight.get(key);
      if (pending !== undefined) {
        this.#deduped++;
        waiting.push([key, pending]);
        continue;
      }
      const d = deferred();
      owned.set(key, d);
      this.#inFlight.set(key, d.promise);
    }

    try {
      const misses = await this.#readDisk([...owned.keys()], owned, found);
      if (misses.length > 0) {
        const vectors = await this.#model.embedBatch(
          misses.map((k) => textOf.get(k)!),
          this.#batchSize,
        );
        const writes: [string, Uint8Array][] = [];
        misses.forEach((key, j) => {
          const v = vectors[j]!;
          this.#computed++;
          this.#remember(key, v, found, owned);
          if (this.#slot !== null) writes.push([key, encodeVector(v)]);
        });
        await this.#writeDisk(writes);
      }
    } catch (err) {
      for (const d of owned.values()) d.reject(err);
      throw err;
    } finally {
      for (const [key, d] of owned) {
        if (this.#inFlight.get(key) === d.promise) this.#inFlight.delete(key);
      }
    }
    for (const [key, pending] of waiting) found.set(key, await pending);
    return keys.map((k) => found.get(k)!.slice());
  }

  /** Uncached: each distinct text computed once per call. */
  async #compute(texts: readonly string[]): Promise<Float32Array[]> {
    this.#requests += texts.length;
    const distinct = [...new Set(texts)];
    this.#deduped += texts.length - distinct.length;
    const vectors = await this.#model.embedBatch(distinct, this.#batchSize);
    this.#computed += distinct.length;
    if (distinct.length === texts.length) return vectors;
    const byText = new Map<string, Float32Array>();
    for (let i = 0; i < distinct.length; i++) byText.set(distinct[i]!, vectors[i]!);
    return texts.map((t) => byText.get(t)!.slice());
  }

  /** Looks the keys up on disk; resolves the hits and returns the misses, in order. */
  async #readDisk(
    keys: readonly string[],
    owned: Map<string, Deferred>,
    found: Map<string, Float32Array>,
  ): Promise<string[]> {
    if (this.#slot === null || keys.length === 0) return [...keys];
    let stored: (Uint8Array | undefined)[];
    try {
      stored = await this.#slot.getMany(keys);
    } catch {
      this.#diskErrors++;
      return [...keys];
    }
    const misses: string[] = [];
    keys.forEach((key, i) => {
      const bytes = stored[i];
      const v = bytes === undefined ? undefined : decodeVector(bytes, this.info.dims);
      if (bytes !== undefined && v === undefined) this.#diskErrors++;
      if (v === undefined) {
        misses.push(key);
      } else {
        this.#diskHits++;
        this.#remember(key, v, found, owned);
      }
    });
    return misses;
  }

  async #writeDisk(writes: readonly (readonly [string, Uint8Array])[]): Promise<void> {
    if (this.#slot === null || writes.length === 0) return;
    try {
      await this.#slot.putMany(writes);
    } catch {
      this.#diskErrors++;
    }
  }

  #remember(
    key: string,
    v: Float32Array,
    found: Map<string, Float32Array>,
    owned: Map<string, Deferred>,
  ): void {
    found.set(key, v);
    this.#lru?.set(key, v);
    owned.get(key)?.resolve(v);
  }

  /** A snapshot of the counters. */
  stats(): EmbedderStats {
    return {
      requests: this.#requests,
      deduped: this.#deduped,
      memoryHits: this.#memoryHits,
      diskHits: this.#diskHits,
      computed: this.#computed,
      diskErrors: this.#diskErrors,
    };
  }

  /** Waits for running `embed` calls, then releases the cache slot. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    closeHooks.get(this)?.();
    await Promise.allSettled([...this.#active]);
    this.#lru?.clear();
    await this.#slot?.close();
  }
}

const shared = new Map<string, Promise<Embedder>>();

/**
 * The thread's Embedder for `cacheDir`, opened on first call and reused after (module state is
 * per thread, so each piscina worker gets one instance, claiming one slot, loading the model
 * once). Options apply only to the call that opens it. Closing it makes the next call reopen.
 *
 * @example
 * // inside a piscina task
 * const embedder = await sharedEmbedder('.featurestream/embeddings');
 * const vectors = await embedder.embed(prompts);
 */
export function sharedEmbedder(
  cacheDir: string | null,
  opts: Omit<EmbedderOptions, 'cacheDir'> = {},
): Promise<Embedder> {
  const id = `${opts.model ?? DEFAULT_EMBEDDER}:${cacheDir === null ? '' : resolve(cacheDir)}`;
  let entry = shared.get(id);
  if (entry === undefined) {
    entry = Embedder.open({ ...opts, cacheDir }).then(
      (embedder) => {
        closeHooks.set(embedder, () => {
          if (shared.get(id) === entry) shared.delete(id);
        });
        return embedder;
      },
      (err: unknown) => {
        shared.delete(id);
        throw err;
      },
    );
    shared.set(id, entry);
  }
  return entry;
}

/** Closes every Embedder opened by {@link sharedEmbedder} in this thread (worker shutdown, tests). */
export async function closeSharedEmbedders(): Promise<void> {
  const all = [...shared.values()];
  shared.clear();
  await Promise.allSettled(all.map(async (p) => (await p).close()));
}
