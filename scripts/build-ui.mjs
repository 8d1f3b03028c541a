// Bundles the web page's script (src/ui/client.js and the graph pass it imports) for the
// browser with esbuild, so the page needs no network at view time.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/ui/client.js'],
  bundle: true,
  format: 'iife',
  minify: true,
  target: 'es2020',
  outfile: 'dist/src/ui/app.js',
  logLevel: 'warning',
});
