import { sharedEmbedder } from '../domains/llm/features/embeddings/embedder.js';
import { DEFAULT_EMBEDDER } from '../domains/llm/features/embeddings/models.js';
import { project } from '../domains/llm/features/embeddings/projection.js';
import { loadPlugins } from '../../operators/plugins.js';
import { linesAt } from '../connectors/file-source.js';
import { type CompiledChains, compileChains, decodeBatch, type EmbeddingProvider } from './decode-stage.js';
import { ShardActor } from './shard-actor.js';
import { rowsAsLines } from './validate-row.js';
import { featureSet } from '../registry/feature-set.js';
import type { ValidationRule } from '../domains/llm/features/catalog.js';
import { columnBuffers } from './shard-pool.js';
import type { ShardRequest, ShardResponse } from './protocol.js';
import type { Topology } from '../../topology/nodes.js';
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
const chainsByRun = new Map<string, CompiledChains>();

function actor(shard: number): ShardActor {
  const a = actors.get(shard);
  if (a === undefined) throw new Error(`shard ${shard} is not open on this worker`);
  return a;
}

export default async function handle(req: ShardRequest): Promise<ShardResponse> {
  switch (req.type) {
    case 'open': {
      // User functions: this thread imports the topology's plugin modules (once) before use.
      await loadPlugins(req.topology.plugins ?? []);
      await actors.get(req.shard)?.close();
      const a = new ShardActor(req.shard, req.topology);
      actors.set(req.shard, a);
      rules.set(req.shard, featureSet(req.topology).rules);
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
    await loadPlugins(topology.plugins ?? []);
    chains = compileChains(topology);
    chainsByRun.set(req.runId, chains);
  }
  let prompts = 0;
  let cacheHits = 0;
  const cacheDir = req.embeddingCache;
  const model = req.embedder ?? DEFAULT_EMBEDDER;
  const embeddings: EmbeddingProvider = {
    async embed(texts) {
      const embedder = await sharedEmbedder(cacheDir, { model });
      const before = embedder.stats();
      const vectors = await embedder.embed(texts);
      const after = embedder.stats();
      prompts += texts.length;
      cacheHits += after.memoryHits + after.diskHits - before.memoryHits - before.diskHits;
      return vectors.map((v) => project(v, model));
    },
  };
  const lines = linesAt(req.bytes, req.starts, req.ends);
  const decoded = await decodeBatch(chains, lines, req.firstLine, req.shards, embeddings);
  const res = prompts === 0 ? decoded : { ...decoded, embedded: { prompts, cacheHits } };
  // The columns' buffers are moved to the coordinator, not copied.
  const buffers = columnBuffers(res.perShard.flatMap((b) => (b === null ? [] : [{ branches: b }])));
  return move({ [transferableSymbol]: buffers, [valueSymbol]: res }) as unknown as ShardResponse;
}
