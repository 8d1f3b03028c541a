/**
 * Refits the committed prompt-embedding projection:
 *
 *   npm run build && node dist/src/domains/llm/features/embeddings/fit-projection.js [--embedder NAME] [corpus.txt] [out.json]
 *
 * Defaults: the default embedder, `src/domains/llm/features/embeddings/corpus.txt` → that model's projection
 * file (`projection-static-v1.json`, `projection-v1.json` for use-lite) in the source tree (also
 * when run from `dist/`), so the result is what gets committed.
 */
import { join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Embedder } from './embedder.js';
import { DEFAULT_EMBEDDER, EMBEDDERS, embedderInfo } from './models.js';
import { fitProjection } from './projection.js';

/** The source folder of this module, also when running the compiled copy under `dist/`. */
function sourceDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return here.includes(`${sep}dist${sep}`)
    ? fileURLToPath(new URL('../../../../../../src/domains/llm/features/embeddings/', import.meta.url))
    : here;
}

async function main(args: readonly string[]): Promise<void> {
  const argv = [...args];
  let name = DEFAULT_EMBEDDER;
  const flag = argv.indexOf('--embedder');
  if (flag !== -1) {
    name = embedderInfo(argv[flag + 1] ?? '').name;
    argv.splice(flag, 2);
  }
  const corpus = argv[0] ?? join(sourceDir(), 'corpus.txt');
  const out = argv[1] ?? join(sourceDir(), EMBEDDERS[name].projectionFile);
  const t0 = performance.now();
  const embedder = await Embedder.open({ cacheDir: null, model: name });
  const p = await fitProjection(corpus, out, { embedder }).finally(() => embedder.close());
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const ratios = p.explainedVarianceRatio;
  console.log(`fitted ${out} from ${p.corpusSize} prompts (corpus sha256 ${p.corpusSha256.slice(0, 12)}…)`);
  console.log(`model ${p.model}, ${p.dims} dims, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`explained variance per dim: ${ratios.map(pct).join(' ')}`);
  console.log(`total: ${pct(ratios.reduce((a, b) => a + b, 0))}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
