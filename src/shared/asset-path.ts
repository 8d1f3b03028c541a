import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where a file committed beside a module is: beside the running module when the build copied it
 * there (`dist/…`), else the source tree's copy (`sourcePath`, relative to the repository root)
 * in the nearest folder above the module that has one — a bundle of the sources, or a build run
 * without its assets. Falls back to the path beside the module, so an error names it.
 *
 * @example
 * assetPath(import.meta.url, 'topologies/llm-features.yaml', 'src/domains/llm/topologies/llm-features.yaml');
 */
export function assetPath(moduleUrl: string, besideModule: string, sourcePath: string): string {
  const beside = fileURLToPath(new URL(besideModule, moduleUrl));
  if (existsSync(beside)) return beside;
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    const source = join(dir, sourcePath);
    if (existsSync(source)) return source;
    const up = dirname(dir);
    if (up === dir) return beside;
    dir = up;
  }
}
