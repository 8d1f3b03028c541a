import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Where a file committed beside the embeddings modules is: next to the compiled module if the
 * build copied it, else in the source tree (`dist/src/domains/llm/features/embeddings/` → `src/domains/llm/features/embeddings/`).
 */
export function embeddingsAssetPath(name: string): string {
  const beside = fileURLToPath(new URL(`./${name}`, import.meta.url));
  if (existsSync(beside)) return beside;
  const source = fileURLToPath(
    new URL(`../../../../../../src/domains/llm/features/embeddings/${name}`, import.meta.url),
  );
  return existsSync(source) ? source : beside;
}
