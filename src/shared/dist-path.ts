import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the build's files are, seen from a module under `src/`: the module runs compiled
 * (`dist/src/…/x.js`, also when bundled — scripts/bundle.mjs rewrites `import.meta.url` to the
 * compiled file's), or from its TypeScript sources under vitest (`src/…/x.ts`), which use the
 * build beside them (`dist/`). One place for what four modules decided each on their own.
 *
 * @example
 * distFile(import.meta.url, 'assets', 'pglite-template.tar.gz'); // …/dist/assets/pglite-template.tar.gz
 * moduleExtension(import.meta.url); // '.ts' under vitest, '.js' compiled
 */

/**
 * The build folder (`dist/`) for the module at `moduleUrl` (its `import.meta.url`); for a module
 * under no `src/` folder, its own folder.
 */
export function distDir(moduleUrl: string): string {
  const path = fileURLToPath(moduleUrl);
  const at = path.lastIndexOf(`${sep}src${sep}`);
  if (at < 0) return dirname(path);
  const root = path.slice(0, at);
  return root.endsWith(`${sep}dist`) ? root : join(root, 'dist');
}

/** A file of the build, by its path inside `dist/`. */
export function distFile(moduleUrl: string, ...parts: string[]): string {
  return join(distDir(moduleUrl), ...parts);
}

/** The extension of the modules beside this one: `.ts` when running from the sources, else `.js`. */
export function moduleExtension(moduleUrl: string): '.ts' | '.js' {
  return moduleUrl.endsWith('.ts') ? '.ts' : '.js';
}
