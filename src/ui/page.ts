import { existsSync, readFileSync } from 'node:fs';
import { KIND_COLOURS } from './graph.js';
import { distFile } from '../shared/dist-path.js';
import { InternalError } from '../shared/errors.js';

/** The browser bundle (src/ui/client.js + graph.ts), built by scripts/build-ui.mjs with esbuild. */
export function clientBundle(): string {
  const file = distFile(import.meta.url, 'src', 'ui', 'app.js');
  if (existsSync(file)) return readFileSync(file, 'utf8');
  throw new InternalError(`the UI bundle is missing (${file}): run \`npm run build\``);
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The page: the graph, a side panel (watermark, rates, shards, checkpoints) and a legend.
 * Live (`script` = '/app.js'): the bundle fetches `/api/topology` and follows `/api/events`.
 * Static (`topologyJson` and the bundle inline): one self-contained file, no network.
 */
export function pageHtml(opts: { title: string; topologyJson?: string; inlineScript?: string }): string {
  const legend = Object.entries(KIND_COLOURS)
    .map(([k, c]) => `<span class="kind"><i style="background:${c}"></i>${k}</span>`)
    .join(' ');
  // `</` inside an inline script or JSON block would end it early.
  const safe = (s: string) => s.replace(/<\/(script)/gi, '<\\/$1');
  const data =
    opts.topologyJson === undefined
      ? ''
      : `<script type="application/json" id="topology-data">${safe(opts.topologyJson)}</script>`;
  const script =
    opts.inlineScript === undefined
      ? '<script src="/app.js"></script>'
      : `<script>${safe(opts.inlineScript)}</script>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(opts.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>
body{margin:0;font:13px system-ui,sans-serif;color:#0f172a;background:#f8fafc}
header{display:flex;gap:16px;align-items:baseline;padding:10px 16px;background:#0f172a;color:#f8fafc}
header h1{font-size:16px;margin:0} header .status{font-weight:600}
main{display:flex;gap:12px;padding:12px}
#graph svg{max-width:100%;height:auto;display:block;margin:0 auto}
#graph{flex:1;min-width:0;overflow:auto;background:#fff;border:1px solid #cbd5e1;border-radius:6px}
aside{width:360px;flex:none;display:flex;flex-direction:column;gap:10px}
section{background:#fff;border:1px solid #cbd5e1;border-radius:6px;padding:8px 10px}
section h2{font-size:13px;margin:0 0 6px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
td,th{padding:2px 4px;text-align:right;border-bottom:1px solid #e2e8f0} td:first-child,th:first-child{text-align:left}
.kind{margin-right:6px;white-space:nowrap} .kind i{display:inline-block;width:10px;height:10px;border:1px solid #475569;margin-right:3px;vertical-align:-1px}
body[data-status=static] aside{display:none} section[hidden]{display:none} #lag{margin-top:6px}
dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:0} dt{color:#475569} dd{margin:0;text-align:right;font-variant-numeric:tabular-nums}
</style></head>
<body data-status="loading">
<header><h1 id="title">${esc(opts.title)}</h1><span class="status" id="status">loading</span><span id="legend">${legend}</span></header>
<main><div id="graph"></div>
<aside>
<section><h2>Job</h2><dl id="job"></dl></section>
<section id="kafka-section" hidden><h2>Kafka member</h2><dl id="kafka"></dl><table id="lag"><thead><tr><th>topic</th><th>partition</th><th>lag</th></tr></thead><tbody></tbody></table></section>
<section><h2>Shards</h2><table id="shards"><thead><tr><th>shard</th><th>worker</th><th>state</th></tr></thead><tbody></tbody></table></section>
<section><h2>Checkpoints</h2><table id="checkpoints"><thead><tr><th>id</th><th>at</th><th>ms</th><th>state</th></tr></thead><tbody></tbody></table></section>
</aside></main>
${data}
${script}
</body></html>
`;
}
