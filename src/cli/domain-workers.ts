/**
 * The modules every worker of a pool loads first: the shipped domains' plugins, as paths (the
 * bundled entries when the build made them). Apart from domains.ts, so that the early pool
 * (early-pool.ts) names them without loading the plugins on the main thread.
 */
import { existsSync } from 'node:fs';
import { distFile } from '../shared/dist-path.js';

/** The plugin modules of the build for worker threads: bundled entries when the build made them. */
export function domainWorkerModules(): string[] {
  return [
    ['domain-llm.js', 'llm'],
    ['domain-api-workflow.js', 'api-workflow'],
  ].map(([bundled, dir]) => {
    const b = distFile(import.meta.url, 'bundle', bundled!);
    return existsSync(b) ? b : distFile(import.meta.url, 'src', 'domains', dir!, 'plugin.js');
  });
}
