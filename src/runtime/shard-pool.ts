import { existsSync } from 'node:fs';
import { Piscina } from 'piscina';
import { affinityBalancer, withSlot } from './affinity-balancer.js';
import { DecodePlaces } from './decode-places.js';
import { InternalError } from '../shared/errors.js';
import { distFile } from '../shared/dist-path.js';
import type { ProcessChunk, ShardRequest, ShardResponse } from './protocol.js';

/**
 * The worker pool every source runs on (file runs and Kafka members alike): decode requests
 * (`shard: -1`) go to the first worker with room for one that is not behind with its shards (see
 * decode-places.ts), every request of shard s goes to the worker that owns slot `s mod workers`,
 * so a shard actor and its state location live on exactly one thread.
 *
 * @example
 * const pool = createShardPool(4, 8);
 * const res = await pool.call({ type: 'close', shard: 3 });
 * await pool.destroy();
 */
export interface ShardPool {
  readonly workers: number;
  /** Sends one request; `transfer` lists buffers moved (not copied) to the worker. */
  call(req: ShardRequest, transfer?: ArrayBuffer[]): Promise<ShardResponse>;
  destroy(): Promise<void>;
}

let workerPreload: readonly string[] = [];

/**
 * How many more shard records in flight than the least loaded worker a worker may have and still
 * be handed a batch to decode (about one batch of records).
 */
const DECODE_LOAD_MARGIN = 2048;

/** The records of a process request. */
function recordsOf(chunks: readonly ProcessChunk[]): number {
  let n = 0;
  for (const c of chunks) for (const b of c.branches) n += b?.count ?? 0;
  return n;
}

/**
 * Plugin modules (absolute paths) every worker of the pools created from now on loads before its
 * first request: the command line names the shipped domains' plugins here, so their functions,
 * schemas and providers are registered on every thread as they are on the main thread.
 */
export function setWorkerPreload(paths: readonly string[]): void {
  workerPreload = Object.freeze([...paths]);
}

/**
 * Resolves the worker entry: the bundled one when the build made it (dist/bundle, see
 * scripts/bundle.mjs), else the compiled module (tests run the TypeScript sources against the
 * build).
 */
export function workerFile(): string {
  const bundled = distFile(import.meta.url, 'bundle', 'shard-worker.js');
  return existsSync(bundled) ? bundled : distFile(import.meta.url, 'src', 'runtime', 'shard-worker.js');
}

let prewarmed: { readonly key: string; readonly pool: ShardPool } | null = null;

/**
 * Starts the pool a run is about to ask for, so its workers load their modules while the main
 * thread still opens the topology, stores and state; the next {@link createShardPool} with the
 * same sizes takes it over.
 */
export function prewarmShardPool(workers: number, maxShards: number): void {
  if (prewarmed === null) prewarmed = { key: `${workers}/${maxShards}`, pool: startPool(workers, maxShards) };
}

/**
 * Stops a prewarmed pool nobody took (the run failed before it started). Each worker first
 * answers a request, so none is stopped while it still loads its modules (a thread terminated
 * while it loads a native addon aborts the process).
 */
export async function discardPrewarmedPool(): Promise<void> {
  const p = prewarmed;
  prewarmed = null;
  if (p === null) return;
  await Promise.allSettled(
    Array.from({ length: p.pool.workers }, (_, s) => p.pool.call({ type: 'close', shard: s })),
  );
  await p.pool.destroy();
}

/**
 * A pool of `workers` threads for up to `maxShards` shards per worker in flight at once (the
 * prewarmed one when its sizes match).
 */
export function createShardPool(workers: number, maxShards: number): ShardPool {
  if (prewarmed !== null && prewarmed.key === `${workers}/${maxShards}`) {
    const { pool } = prewarmed;
    prewarmed = null;
    return pool;
  }
  return startPool(workers, maxShards);
}

function startPool(workers: number, maxShards: number): ShardPool {
  const pool = new Piscina({
    filename: workerFile(),
    workerData: { preload: [...workerPreload] },
    minThreads: workers,
    maxThreads: workers,
    idleTimeout: Number.POSITIVE_INFINITY,
    concurrentTasksPerWorker: maxShards + 1,
    loadBalancer: affinityBalancer(),
    atomics: 'disabled',
  });
  // Per worker slot, the records its shards have in flight (process requests sent, not answered).
  const inFlight = new Float64Array(workers);
  const decodes = new DecodePlaces(workers, (slot) => inFlight[slot]!, DECODE_LOAD_MARGIN);
  const run = (req: ShardRequest, slot: number, transfer: ArrayBuffer[] | undefined) =>
    pool.run(withSlot({ ...req }, slot), transfer === undefined ? {} : { transferList: transfer });
  return {
    workers,
    call(req, transfer) {
      if (req.shard >= 0) {
        const slot = req.shard % workers;
        const res = run(req, slot, transfer);
        if (req.type === 'process') {
          const n = recordsOf(req.chunks);
          inFlight[slot] = inFlight[slot]! + n;
          const answered = () => {
            inFlight[slot] = inFlight[slot]! - n;
            // After the caller's own reaction to the answer (the router sends the shard what
            // waited meanwhile), so the load is the one the worker goes on with.
            queueMicrotask(() => decodes.recheck());
          };
          void res.then(answered, answered);
        }
        return res;
      }
      return decodes.take().then((slot) => {
        const res = run(req, slot, transfer);
        const answered = () => decodes.give(slot);
        void res.then(answered, answered);
        return res;
      });
    },
    destroy: () => {
      decodes.close(new InternalError('the worker pool was destroyed before the decode could run'));
      return pool.destroy();
    },
  };
}

/** The buffers of a request's columns, to transfer them instead of copying. */
export function columnBuffers(
  chunks: ReadonlyArray<{
    branches: ReadonlyArray<{
      keys: Float64Array;
      attrs: Float64Array;
      ts: Float64Array;
      clock: Float64Array;
      values: Float64Array;
      refs: Float64Array;
    } | null>;
  }>,
): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const c of chunks) {
    for (const b of c.branches) {
      if (b === null || b === undefined) continue;
      for (const a of [b.keys, b.attrs, b.ts, b.clock, b.values, b.refs]) {
        // A view on part of a larger buffer (e.g. a Kafka message) is copied, not moved.
        if (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength) out.add(a.buffer as ArrayBuffer);
      }
    }
  }
  return [...out];
}
