import { assetPath } from '../../../../shared/asset-path.js';

/**
 * Where a file committed beside the embeddings modules is: next to the compiled module if the
 * build copied it, else in the source tree (`src/domains/llm/features/embeddings/`).
 */
export function embeddingsAssetPath(name: string): string {
  return assetPath(import.meta.url, `./${name}`, `src/domains/llm/features/embeddings/${name}`);
}
