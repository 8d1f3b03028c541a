// Bundles the CLI and the shard worker into dist/bundle/ (esbuild, ES modules, code split along
// the CLI's lazy imports; packages stay external). A command then loads a few files instead of
// resolving and compiling ~100 modules one by one, on the main thread and on every worker
// (issue 10: start-up). bin/featurestream.js and the worker pool use the bundle when it exists.
//
// Modules find files beside themselves through `import.meta.url` (migrations, shipped topology
// files, embedding assets, the worker): each bundled module's `import.meta.url` is rewritten to
// its compiled file's URL, relative to the bundle, so those paths stay what they are in dist/.
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
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

/**
 * Packages bundled rather than loaded from node_modules: LevelDB's JavaScript (classic-level and
 * abstract-level with their small dependencies), which every worker and the main thread load —
 * resolving its ~40 CommonJS files one by one cost a thread more than the rest of its modules
 * together (issue 30: time to first event). Its native addon stays where it is: `binding.js` is
 * loaded from node_modules (it finds the addon beside itself), as are Node's own modules.
 */
const BUNDLED = new Set([
  'classic-level',
  'abstract-level',
  'module-error',
  'level-supports',
  'level-transcoder',
  'maybe-combine-errors',
  'is-buffer',
]);
const builtins = new Set(builtinModules);
/** `require` for what bundled CommonJS modules load from outside the bundle (named so esbuild leaves it). */
const banner =
  "import { createRequire as __fsCreateRequire } from 'node:module';\n" +
  'const __fsRequire = __fsCreateRequire(new URL("../../package.json", import.meta.url));';

const packagesOutside = {
  name: 'packages-outside',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      const bare = args.path.startsWith('node:') ? args.path.slice(5) : args.path;
      const fromBundled = args.importer.includes(`${sep}node_modules${sep}`);
      if (builtins.has(bare) || builtins.has(bare.split('/')[0])) {
        // From a bundled CommonJS module, `require('buffer')` must still reach Node's own.
        return fromBundled ? { path: bare, namespace: 'outside' } : { path: args.path, external: true };
      }
      const name = args.path.startsWith('@')
        ? args.path.split('/').slice(0, 2).join('/')
        : args.path.split('/')[0];
      return BUNDLED.has(name) ? undefined : { path: args.path, external: true };
    });
    b.onLoad({ filter: /[\\/]classic-level[\\/]binding\.js$/ }, () => ({
      contents: "module.exports = __fsRequire('classic-level/binding.js');",
      loader: 'js',
    }));
    b.onLoad({ filter: /.*/, namespace: 'outside' }, (args) => ({
      contents: `module.exports = __fsRequire(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

// A fresh folder: chunks of an earlier build (their names are hashes) would stay beside the new ones.
rmSync(outdir, { recursive: true, force: true });
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
  banner: { js: banner },
  outdir,
  // Flat: every output sits in outdir, which the rewritten URLs are relative to.
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
  plugins: [packagesOutside, moduleUrl],
});
