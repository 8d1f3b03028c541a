// Copies the non-TypeScript files the build needs beside the compiled modules, at the same
// relative path under dist/: SQL migrations, shipped topology files, OpenAPI documents,
// schemas and the embedding projections, corpus and word vectors. Every such file under the
// source folders is copied, so a module that moves keeps its assets. Test fixtures stay out.
import { cpSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';

const ASSETS = new Set(['.json', '.yaml', '.yml', '.sql', '.txt', '.bin']);

/** Copies the assets under `dir` (recursively) to `dist/<dir>`. */
function copyAssets(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'fixtures' && name !== 'node_modules') copyAssets(path);
    } else if (ASSETS.has(extname(name))) {
      mkdirSync(join('dist', dirname(path)), { recursive: true });
      cpSync(path, join('dist', path));
    }
  }
}

for (const root of ['src', 'topology', 'operators', 'state']) copyAssets(root);
