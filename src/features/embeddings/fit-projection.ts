/**
 * Refits the committed prompt-embedding projection:
 *
 *   npm run build && node dist/src/features/embeddings/fit-projection.js [corpus.txt] [out.json]
 *
 * Defaults: `src/features/embeddings/corpus.txt` → `src/features/embeddings/projection-v1.json`
 * in the source tree (also when run from `dist/`), so the result is what gets committed.
 */
import { join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fitProjection, PROJECTION_VERSION } from './projection.js';

/** The source folder of this module, also when running the compiled copy under `dist/`. */
function sourceDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return here.includes(`${sep}dist${sep}`)
    ? fileURLToPath(new URL('../../../../src/features/embeddings/', import.meta.url))
    : here;
}

async function main(argv: readonly string[]): Promise<void> {
  const corpus = argv[0] ?? join(sourceDir(), 'corpus.txt');
  const out = argv[1] ?? join(sourceDir(), `projection-v${PROJECTION_VERSION}.json`);
  const t0 = performance.now();
  const p = await fitProjection(corpus, out);
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
