/**
 * `npm run bench:workflow` — POST /workflow/rank-features with 20 candidates for warm sessions
 * (rows of an `api-workflow` run in the embedded online store), beside a bare `node:http` server
 * returning a body of the same size, measured in the same run (autocannon, 10 connections).
 * Prints server-side p50/p99 (onRequest → onResponse), client throughput and the ratio to the
 * bare server, with the rows read from the store on every request, kept in process (the row
 * view the server keeps, src/domains/api-workflow/row-cache.ts) and with the vector cache too; the cold-prompt p99 (an embedding miss: the model runs); and the vector and
 * embedding cache hit rates on a repeat mix (70 % of requests repeat a recent session and prompt).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import {
  DEFAULT_EMBEDDER,
  Embedder,
  type EmbedderName,
} from '../src/domains/llm/features/embeddings/embedder.js';
import { writeApiEvents } from '../src/domains/api-workflow/generate/api-stream.js';
import { ServeMetrics } from '../src/serve/metrics.js';
import { registerWorkflowRoute } from '../src/domains/api-workflow/serve-routes.js';
import { openOnlineStore } from '../src/stores/online-store.js';
import { CachedRowReader } from '../src/domains/api-workflow/row-cache.js';
import { builtinSpec } from '../src/domains/api-workflow/openapi.js';
import { API_WORKFLOW_PARAMS } from '../src/domains/api-workflow/params.js';

const dir = mkdtempSync(join(tmpdir(), 'fs-bench-wf-'));
const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? Number.NaN;
};

const input = join(dir, 'api.ndjson');
await writeApiEvents(input, { events: 5_000, seed: 1 });
const bin = new URL('../../bin/featurestream.js', import.meta.url).pathname;
const run = spawnSync(
  process.execPath,
  [
    bin,
    'run',
    '--topology',
    'api-workflow',
    '--input',
    input,
    '--online',
    `embedded:${join(dir, 'online')}`,
    '--state-dir',
    join(dir, 'state'),
  ],
  { encoding: 'utf8' },
);
if (run.status !== 0) throw new Error(run.stderr);
const store = await openOnlineStore(`embedded:${join(dir, 'online')}`);
// EMBEDDER=use-lite measures the cached model (memory LRU + LevelDB); the default static
// embedder computes every text (faster than a cache lookup) and has no cache to hit.
const embedderName = (process.env.EMBEDDER ?? DEFAULT_EMBEDDER) as EmbedderName;
const embedder = await Embedder.open({ cacheDir: join(dir, 'emb'), model: embedderName });

async function server(vectorTtlMs: number, rowTtlMs = 30_000) {
  const app = Fastify();
  const serverMs: number[] = [];
  const started = new WeakMap<object, number>();
  app.addHook('onRequest', async (req) => void started.set(req, performance.now()));
  app.addHook('onResponse', async (req) => void serverMs.push(performance.now() - started.get(req)!));
  let ranker: ReturnType<typeof registerWorkflowRoute> = null;
  const rows = new CachedRowReader(store, { ttlMs: rowTtlMs });
  await app.register(async (scope) => {
    ranker = registerWorkflowRoute(scope, {
      // As the server does: the rows kept in process (L1's TTL), read only when missing.
      store: rows,
      metrics: new ServeMetrics(),
      embedder: async () => embedder,
      spec: builtinSpec(),
      halfLifeMs: API_WORKFLOW_PARAMS.halfLife,
      popularityHalfLifeMs: API_WORKFLOW_PARAMS.popularityHalfLife,
      vectorTtlMs,
    });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    serverMs,
    ranker: ranker!,
    rows,
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/workflow/rank-features`,
  };
}

const candidates = builtinSpec()
  .endpoints.slice(0, 20)
  .map((e) => ({ method: e.method, path: e.path }));
const body = (session: string, prompt?: string) =>
  JSON.stringify({ session_id: session, candidates, ...(prompt === undefined ? {} : { prompt }) });
const DURATION = Number(process.env.DURATION ?? 5);
const load = (url: string, b: string, seconds = DURATION) =>
  new Promise<autocannon.Result>((resolve, reject) => {
    autocannon(
      {
        url,
        method: 'POST',
        connections: 10,
        duration: seconds,
        body: b,
        headers: { 'content-type': 'application/json' },
      },
      (e, r) => (e ? reject(e) : resolve(r)),
    );
  });

// Warm session, no vector cache (every request reads the store and computes 20 vectors), then cached.
const first = await server(0);
const sample = await first.app.inject({
  method: 'POST',
  url: '/workflow/rank-features',
  headers: { 'content-type': 'application/json' },
  payload: body('s-1-40'),
});
const bare = createHttpServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end(sample.body);
});
await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
const bareRun = await load(`http://127.0.0.1:${(bare.address() as AddressInfo).port}/`, body('s-1-40'));
const direct = await server(0, 0);
const directRun = await load(direct.url, body('s-1-40'));
const uncached = await server(0);
const uncachedRun = await load(uncached.url, body('s-1-40'));
const cached = await server(60_000);
const cachedRun = await load(cached.url, body('s-1-40'));
const line = (name: string, r: autocannon.Result, serverMs: number[] | null) =>
  `${name.padEnd(34)} ${String(Math.round(r.requests.average)).padStart(7)} req/s  ×${(r.requests.average / bareRun.requests.average).toFixed(2)} of bare` +
  (serverMs === null
    ? ''
    : `   server p50 ${q(serverMs, 0.5).toFixed(3)} ms  p99 ${q(serverMs, 0.99).toFixed(3)} ms`);
console.log(
  `bench:workflow — 20 candidates, warm session, 10 connections, ${DURATION} s each, same process; load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} (2 cores)`,
);
console.log(line('bare node:http (same body)', bareRun, null));
console.log(line('rank-features, store read each time', directRun, direct.serverMs));
console.log(line('rank-features, row view', uncachedRun, uncached.serverMs));
console.log(line('rank-features, vector cache', cachedRun, cached.serverMs));

// Cold prompts: every request a new prompt (an embedding miss, the model runs).
const cold = await server(0);
cold.serverMs.length = 0;
for (let i = 0; i < 60; i++)
  await cold.app.inject({
    method: 'POST',
    url: '/workflow/rank-features',
    headers: { 'content-type': 'application/json' },
    payload: body('s-1-40', `please handle request number ${i} for customer ${i * 7919}`),
  });
console.log(
  `cold prompt (embedding miss): server p50 ${q(cold.serverMs, 0.5).toFixed(1)} ms  p99 ${q(cold.serverMs, 0.99).toFixed(1)} ms over 60 requests`,
);

// Repeat mix: 70 % of requests repeat one of the last 20 (session, prompt) pairs.
const mix = await server(60_000);
const prompts = [
  'pay the open invoice',
  'update the contact',
  'merge the pull request',
  'check out my cart',
  'create a customer',
];
const recent: [string, string][] = [];
let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
for (let i = 0; i < 1_000; i++) {
  let pair: [string, string];
  if (recent.length > 0 && rand() < 0.7) pair = recent[Math.floor(rand() * recent.length)]!;
  else {
    pair = [`s-1-${1 + Math.floor(rand() * 400)}`, prompts[Math.floor(rand() * prompts.length)]!];
    recent.push(pair);
    if (recent.length > 20) recent.shift();
  }
  await mix.app.inject({
    method: 'POST',
    url: '/workflow/rank-features',
    headers: { 'content-type': 'application/json' },
    payload: body(pair[0], pair[1]),
  });
}
const s = mix.ranker.stats;
console.log(
  `repeat mix (1,000 requests, 70 % repeats): vector cache hit rate ${((100 * s.vectorHits) / (s.vectorHits + s.vectorMisses)).toFixed(1)} %, ` +
    `row view hit rate ${((100 * mix.rows.stats.hits) / Math.max(1, mix.rows.stats.hits + mix.rows.stats.misses)).toFixed(1)} %, ` +
    (embedder.info.cached
      ? `embedding cache hit rate ${((100 * s.embeddingHits) / Math.max(1, s.embeddingRequests)).toFixed(1)} % (${embedderName})`
      : `embeddings: ${embedderName} computes each of ${s.embeddingRequests} texts (no cache; EMBEDDER=use-lite measures the cached model)`),
);
for (const x of [first, direct, uncached, cached, cold, mix]) await x.app.close();
bare.close();
await embedder.close();
await store.close();
