/**
 * `featurestream training-set --kind workflow`: ranking training data from a recorded `api_call`
 * stream. The calls go through the family-B model ({@link WorkflowModel}, the state the
 * `api-workflow` topology keeps) in file order; before each call, its session's candidates are
 * ranked with the state as it was then — point-in-time correct by construction: a query sees
 * only calls before it — and the call that came is the positive. Candidates are the call itself
 * plus `negatives` other endpoints of the API surface drawn without replacement (seeded; 0 takes
 * every endpoint), in a shuffled order. WF_001 (semantic_similarity) is the cosine of the call's
 * prompt and the candidate's description under the embedder, when one is given and the call has
 * a prompt.
 *
 * Writes `train.csv` (query, session_id, event_id, timestamp, candidate_method, candidate_path,
 * label, then the WF features; empty cells are nulls) and LightGBM's lambdarank input:
 * `train.tsv` (label, then the features; `nan` for nulls) with the group file `train.tsv.query`
 * (candidates per query, in query order). Lines that do not decode are counted by reason and
 * skipped; other event types and calls whose endpoint is not in the surface are counted.
 *
 * @example
 * await exportWorkflowTraining({ input: 'calls.ndjson', outDir: 'out', spec: builtinSpec() });
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync, statSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { readLines } from '../../../operators/index.js';
import type { Embedder } from '../llm/index.js';
import { schemaDecoder } from '../../../operators/index.js';
import { mulberry32 } from '../../shared/random.js';
import { progressBar } from '../../shared/progress.js';
import { cosine, WF_FEATURE_NAMES, type WfVector } from './features.js';
import { DEFAULT_WORKFLOW_CONFIG, WorkflowModel } from './model.js';
import type { ApiSpec } from './openapi.js';
import { API_WORKFLOW_PARAMS } from './params.js';
import { PathNormalizer } from './paths.js';

export interface WorkflowTrainingOptions {
  /** NDJSON `api_call` events (plain or .gz), in time order. */
  readonly input: string;
  /** Folder for train.csv, train.tsv and train.tsv.query (created). */
  readonly outDir: string;
  /** The API surface: candidates, templates and descriptions. */
  readonly spec: ApiSpec;
  /** Other endpoints per query (default 8); 0 = every endpoint of the surface. */
  readonly negatives?: number;
  /** Seed of the negative sampling (default 1). */
  readonly seed?: number;
  /** For WF_001; null leaves semantic_similarity empty. */
  readonly embedder?: Embedder | null;
  /** A progress bar on stderr (drawn when it is a terminal and the input is not gzipped). */
  readonly progress?: boolean;
}

export interface WorkflowTrainingReport {
  readonly queries: number;
  readonly rows: number;
  readonly lines: number;
  /** Undecodable lines by reason code. */
  readonly deadLetters: Readonly<Record<string, number>>;
  /** Decoded events of other types. */
  readonly otherTypes: number;
  /** Calls whose endpoint is not in the surface (no positive candidate; not exported). */
  readonly unmatched: number;
  readonly files: readonly string[];
}

async function write(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

async function close(out: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
}

/** Writes the training files; see the module comment. */
export async function exportWorkflowTraining(opts: WorkflowTrainingOptions): Promise<WorkflowTrainingReport> {
  const endpoints = opts.spec.endpoints;
  const normalizer = new PathNormalizer(endpoints.map((e) => e.path));
  const model = new WorkflowModel(
    { ...DEFAULT_WORKFLOW_CONFIG, halfLifeMs: API_WORKFLOW_PARAMS.halfLife },
    normalizer,
  );
  const index = new Map(endpoints.map((e, i) => [`${e.method} ${e.path}`, i]));
  const negatives = opts.negatives ?? 8;
  const rand = mulberry32((opts.seed ?? 1) * 7919 + 17);
  const embedder = opts.embedder ?? null;
  const descriptionVectors =
    embedder === null ? null : await embedder.embed(endpoints.map((e) => e.description));
  const promptVectors = new Map<string, Float32Array | number[]>();

  mkdirSync(opts.outDir, { recursive: true });
  const files = ['train.csv', 'train.tsv', 'train.tsv.query'].map((f) => join(opts.outDir, f));
  const [csv, tsv, query] = files.map((f) => createWriteStream(f)) as [WriteStream, WriteStream, WriteStream];
  await write(
    csv,
    `query,session_id,event_id,timestamp,candidate_method,candidate_path,label,${WF_FEATURE_NAMES.join(',')}\n`,
  );
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const cell = (v: number | null) => (v === null ? '' : String(v));
  const deadLetters: Record<string, number> = {};
  let lines = 0;
  let queries = 0;
  let rows = 0;
  let otherTypes = 0;
  let unmatched = 0;
  const total = opts.input.endsWith('.gz') ? 0 : statSync(opts.input).size;
  const bar =
    opts.progress === true && process.stderr.isTTY && total > 0 ? progressBar('training-set') : null;

  // API calls are events of the llm domain's schema, found by name in the schema registry.
  const decodeLine = schemaDecoder('llm-events');
  for await (const batch of readLines(opts.input, { offset: 0, line: 0 })) {
    for (const line of batch.lines) {
      lines++;
      if (line.trim() === '') continue;
      const d = decodeLine(line);
      if (!d.ok) {
        deadLetters[d.reason] = (deadLetters[d.reason] ?? 0) + 1;
        continue;
      }
      if (d.event.type !== 'api_call') {
        otherTypes++;
        continue;
      }
      const b = d.event.body as {
        id: string;
        session_id: string;
        method: string;
        path: string;
        resource?: string;
        tenant?: string;
        prompt?: string;
      };
      const method = b.method.toUpperCase();
      const template = normalizer.normalize(b.path).template;
      const right = index.get(`${method} ${template}`);
      if (right === undefined) unmatched++;
      else {
        const picked = pick(right, endpoints.length, negatives, rand);
        const candidates = picked.map((i) => ({ method: endpoints[i]!.method, path: endpoints[i]!.path }));
        let similarity: ((i: number) => number | null) | undefined;
        const prompt = b.prompt?.trim() ?? '';
        if (embedder !== null && descriptionVectors !== null && prompt !== '') {
          let pv = promptVectors.get(prompt);
          if (pv === undefined) {
            pv = (await embedder.embed([prompt]))[0]!;
            if (promptVectors.size >= 100_000) promptVectors.clear();
            promptVectors.set(prompt, pv);
          }
          const p = pv;
          similarity = (i) => cosine(p, descriptionVectors[picked[i]!]!);
        }
        const { vectors } = model.rank(b.session_id, candidates, {
          tenant: b.tenant ?? null,
          ...(similarity === undefined ? {} : { similarity }),
        });
        const head = `${queries},${quote(b.session_id)},${quote(b.id)},${new Date(d.event.ts).toISOString()}`;
        let c = '';
        let t = '';
        vectors.forEach((v: WfVector, k) => {
          const label = picked[k] === right ? 1 : 0;
          const e = endpoints[picked[k]!]!;
          c += `${head},${e.method},${quote(e.path)},${label},${WF_FEATURE_NAMES.map((n) => cell(v[n])).join(',')}\n`;
          t += `${label}\t${WF_FEATURE_NAMES.map((n) => (v[n] === null ? 'nan' : String(v[n]))).join('\t')}\n`;
        });
        await write(csv, c);
        await write(tsv, t);
        await write(query, `${picked.length}\n`);
        queries++;
        rows += picked.length;
      }
      model.observe({
        session: b.session_id,
        ts: d.event.ts,
        method,
        path: b.path,
        ...(b.resource === undefined ? {} : { resource: b.resource }),
        ...(b.tenant === undefined ? {} : { tenant: b.tenant }),
      });
    }
    bar?.update(batch.end.offset, total);
  }
  await Promise.all([close(csv), close(tsv), close(query)]);
  bar?.done();
  return { queries, rows, lines, deadLetters, otherTypes, unmatched, files };
}

/** The positive and `negatives` others (all when 0), shuffled. */
function pick(right: number, n: number, negatives: number, rand: () => number): number[] {
  let out: number[];
  if (negatives === 0 || negatives >= n - 1) out = Array.from({ length: n }, (_, i) => i);
  else {
    const set = new Set([right]);
    while (set.size < negatives + 1) set.add(Math.floor(rand() * n));
    out = [...set];
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
