import { workerData } from 'node:worker_threads';
import { loadPlugins } from '../../operators/plugins.js';
import { PROVIDERS, type ProviderInstance } from '../../operators/providers.js';
import { featureRules, type ValidationRule } from '../../topology/feature-catalog.js';
import { linesAt } from '../connectors/file-source.js';
import { type CompiledChains, compileChains, decodeBatch } from './decode-stage.js';
import { ShardActor } from './shard-actor.js';
import { rowsAsLines } from './validate-row.js';
import { columnBuffers } from './shard-pool.js';
import type { ShardRequest, ShardResponse } from './protocol.js';
import type { Topology } from '../../topology/nodes.js';
import { LRUCache } from 'lru-cache';
import { move, transferableSymbol, valueSymbol } from 'piscina';

/**
 * The piscina worker entry: hosts the shard actors this worker owns. The pool's affinity
 * balancer sends every request of a shard to the same worker, so each actor and its state
 * location live on exactly one thread.
 */
const actors = new Map<number, ShardActor>();
/** Per shard, the registry rules of its topology (rows validated here with `rowsAsLines`). */
const rules = new Map<number, ReadonlyMap<string, ValidationRule>>();
/**
 * The tail of this worker's decode requests: they run one at a time (so each batch's embedding
 * cache statistics are its own, and the first batch in flight finishes first).
 */
let decodeTurn: Promise<unknown> = Promise.resolve();
/**
 * How many runs' compiled chains and providers a worker keeps: a process runs one job at a time
 * (a Kafka member restarts its run on each assignment), so the recent few are all that can still
 * send batches; older ones are dropped instead of kept for the life of a long-lived member.
 */
const RUNS_KEPT = 8;
const chainsByRun = new LRUCache<string, CompiledChains>({ max: RUNS_KEPT });
/** Per run, the providers its chains need, opened on this thread with the run's options. */
const providersByRun = new LRUCache<string, Promise<ReadonlyMap<string, ProviderInstance>>>({
  max: RUNS_KEPT,
});

/**
 * The plugin modules every worker of the pool loads first (`workerData.preload`: absolute paths,
 * set by whoever creates the pool — the command line passes the shipped domains' plugins).
 */
const preloaded: Promise<void> = loadPlugins(
  ((workerData as { preload?: readonly string[] } | null)?.preload ?? []).slice(),
);

/** Opens the providers a run's chains need (once per run on this thread). */
function openProviders(
  needs: readonly string[],
  runId: string,
  options: Readonly<Record<string, Readonly<Record<string, unknown>>>>,
): Promise<ReadonlyMap<string, ProviderInstance>> | null {
  if (needs.length === 0) return null;
  let open = providersByRun.get(runId);
  if (open === undefined) {
    open = Promise.all(
      needs.map(async (name) => {
        const def = PROVIDERS.get(name);
        if (def === undefined) throw new Error(`provider \`${name}\` is not registered on this worker`);
        return [name, await def.open(options[name] ?? {})] as const;
      }),
    ).then((entries) => new Map(entries));
    providersByRun.set(runId, open);
  }
  return open;
}

function actor(shard: number): ShardActor {
  const a = actors.get(shard);
  if (a === undefined) throw new Error(`shard ${shard} is not open on this worker`);
  return a;
}

export default async function handle(req: ShardRequest): Promise<ShardResponse> {
  switch (req.type) {
    case 'open': {
      // User functions: this thread imports the topology's plugin modules (once) before use.
      await preloaded;
      await loadPlugins(req.topology.plugins ?? []);
      await actors.get(req.shard)?.close();
      const a = new ShardActor(req.shard, req.topology);
      actors.set(req.shard, a);
      rules.set(req.shard, featureRules(req.topology));
      const { keys, meta } = await a.open(req.location, req.committedId);
      return { type: 'opened', shard: req.shard, restoredKeys: keys, meta };
    }
    case 'decode': {
      // One decode at a time per worker, in arrival order: interleaved at their awaits (lazy
      // module loads, embeddings), several batches all finished late; in turn, the first one
      // finishes first (a run's first event came ~130 ms later with six batches in flight).
      const turn = decodeTurn.then(() => decode(req));
      decodeTurn = turn.catch(() => {});
      return turn;
    }
    case 'process': {
      const { rows, late } = actor(req.shard).process(req.chunks, req.endClock, req.now);
      if (req.rowsAsLines !== true) return { type: 'output', shard: req.shard, rows, late };
      return {
        type: 'output',
        shard: req.shard,
        rows: [],
        late,
        lines: rowsAsLines(rows, rules.get(req.shard)!),
      };
    }
    case 'checkpoint': {
      const changes = await actor(req.shard).checkpointChanges(req.id, req.meta);
      return {
        type: 'checkpointed',
        shard: req.shard,
        id: req.id,
        changedEntries: changes.size,
        ...(req.withChanges === true ? { changes: [...changes] } : {}),
      };
    }
    case 'commit':
      await actor(req.shard).commit(req.id);
      return { type: 'ok', shard: req.shard };
    case 'close':
      await actors.get(req.shard)?.close();
      actors.delete(req.shard);
      rules.delete(req.shard);
      return { type: 'ok', shard: req.shard };
  }
}

/** Decodes one batch; {@link handle} runs a worker's decode requests through here one at a time. */
async function decode(req: Extract<ShardRequest, { type: 'decode' }>): Promise<ShardResponse> {
  let chains = chainsByRun.get(req.runId);
  if (chains === undefined) {
    const topology = JSON.parse(req.topologyJson) as Topology;
    await preloaded;
    await loadPlugins(topology.plugins ?? []);
    chains = compileChains(topology);
    chainsByRun.set(req.runId, chains);
  }
  const providers = await openProviders(chains.needs, req.runId, req.providerOptions);
  const lines = linesAt(req.bytes, req.starts, req.ends);
  const res = await decodeBatch(chains, lines, req.firstLine, req.shards, providers);
  // The columns' buffers are moved to the coordinator, not copied.
  const buffers = columnBuffers(res.perShard.flatMap((b) => (b === null ? [] : [{ branches: b }])));
  return move({ [transferableSymbol]: buffers, [valueSymbol]: res }) as unknown as ShardResponse;
}
