// Bundles the CLI and the shard worker into dist/bundle/ (esbuild, ES modules, code split along
// the CLI's lazy imports; packages stay external). A command then loads a few files instead of
// resolving and compiling ~100 modules one by one, on the main thread and on every worker
// (issue 10: start-up). bin/featurestream.js and the worker pool use the bundle when it exists.
//
// Modules find files beside themselves through `import.meta.url` (migrations, shipped topology
// files, embedding assets, the worker): each bundled module's `import.meta.url` is rewritten to
// its compiled file's URL, relative to the bundle, so those paths stay what they are in dist/.
import { readFile } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';

const outdir = resolve('dist/bundle');

/** Rewrites `import.meta.url` in a compiled module to the URL of that module's own file. */
const moduleUrl = {
  name: 'module-url',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async (args) => {
      let contents = await readFile(args.path, 'utf8');
      if (contents.includes('import.meta.url')) {
        const rel = relative(outdir, args.path).split(sep).join('/');
        contents = contents.replaceAll(
          'import.meta.url',
          `new URL(${JSON.stringify(rel)}, import.meta.url).href`,
        );
      }
      return { contents, loader: 'js' };
    });
  },
};

await build({
  entryPoints: {
    cli: 'dist/src/cli/index.js',
    // Loaded by bin/featurestream.js before the CLI, for a plain file run: starts its worker pool
    // (src/cli/early-pool.ts); the CLI's lazy import of the pool module shares its chunk.
    'early-pool': 'dist/src/cli/early-pool.js',
    'shard-worker': 'dist/src/runtime/shard-worker.js',
    // The shipped domains' plugins: workers load them by path (src/cli/domains.ts); as entries
    // of the same build they share the engine's modules with the worker instead of copying them.
    'domain-llm': 'dist/src/domains/llm/plugin.js',
    'domain-api-workflow': 'dist/src/domains/api-workflow/plugin.js',
  },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outdir,
  // Flat: every output sits in outdir, which the rewritten URLs are relative to.
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
  plugins: [moduleUrl],
});
