// Copies the non-TypeScript files the build needs beside the compiled modules: every asset under
// the compiled source folders (SQL migrations, shipped topology files, OpenAPI specs, embedding
// projections/corpus/word vectors, fixtures, …) goes to dist/ at the same relative path, so a
// module finds it through `import.meta.url` wherever the folder lives — no list to keep in step
// when files move.
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';

/** The folders tsconfig.build.json compiles into dist/ that may hold runtime assets. */
const ROOTS = ['src', 'topology', 'operators', 'state'];
/** Sources, not assets: TypeScript is compiled, browser scripts are bundled (build-ui.mjs). */
const SOURCE = new Set(['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs', '.md']);

/** Yields every file under `dir` (relative paths), skipping dot-folders and node_modules. */
function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.isFile()) yield path;
  }
}

let copied = 0;
for (const root of ROOTS) {
  if (!existsSync(root)) continue;
  for (const file of files(root)) {
    if (SOURCE.has(extname(file))) continue;
    const to = join('dist', file);
    mkdirSync(dirname(to), { recursive: true });
    cpSync(file, to);
    copied++;
  }
}
if (process.env.FEATURESTREAM_BUILD_VERBOSE) console.log(`copy-assets: ${copied} files`);
