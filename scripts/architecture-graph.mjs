// Draws the layers' dependency picture for docs/architecture.md from dependency-cruiser's own
// analysis (the same run and rules as `npm run lint`): one node per folder of a layer, one edge
// per folder pair with at least one runtime import, as a Mermaid flowchart.
//   node scripts/architecture-graph.mjs > /tmp/graph.mmd
import { execFileSync } from 'node:child_process';

const json = execFileSync(
  process.execPath,
  [
    'node_modules/dependency-cruiser/bin/dependency-cruise.mjs',
    'topology',
    'operators',
    'state',
    'src',
    '--config',
    '.dependency-cruiser.cjs',
    '--output-type',
    'json',
  ],
  { encoding: 'utf8', maxBuffer: 1 << 28 },
);
const LAYERS = [
  ['engine', /^(topology|operators|state|src\/runtime|src\/connectors)\//],
  ['shared', /^src\/shared\//],
  ['domains', /^src\/domains\//],
  ['cli', /^src\/cli\//],
  ['platform', /^src\//],
];
const folder = (p) =>
  p.match(/^src\/domains\/[^/]+/)?.[0] ??
  p.match(/^src\/runtime\/kafka/)?.[0] ??
  p.match(/^(src\/[^/]+|[^/]+)/)?.[0];
const layer = (p) => LAYERS.find(([, re]) => re.test(p))?.[0];
const isTest = (p) => /\.test\.ts$|test-support\.ts$|-conformance\.ts$/.test(p);
const edges = new Set();
const nodes = new Map();
for (const m of JSON.parse(json).modules) {
  if (isTest(m.source) || layer(m.source) === undefined) continue;
  const from = folder(m.source);
  nodes.set(from, layer(m.source));
  for (const d of m.dependencies) {
    if (d.coreModule || d.couldNotResolve || isTest(d.resolved) || layer(d.resolved) === undefined) continue;
    const to = folder(d.resolved);
    if (to !== from && layer(d.resolved) !== 'shared') edges.add(`${from}|${to}`);
  }
}
const id = (f) => f.replace(/[^a-z0-9]/gi, '_');
const out = ['flowchart TB'];
for (const [name] of LAYERS) {
  const members = [...nodes].filter(([, l]) => l === name).map(([f]) => f);
  if (members.length === 0 || name === 'shared') continue;
  out.push(`  subgraph ${name}`);
  for (const f of members.sort()) out.push(`    ${id(f)}["${f}"]`);
  out.push('  end');
}
for (const e of [...edges].sort()) {
  const [a, b] = e.split('|');
  out.push(`  ${id(a)} --> ${id(b)}`);
}
process.stdout.write(`${out.join('\n')}\n`);
