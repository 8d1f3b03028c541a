/**
 * The topology package: the graph model, the builder, validation, rendering, planning, the
 * feature catalogs and the topologies registered by name (plugins register them).
 *
 * @example
 * const make = TOPOLOGIES.get('llm-perf');
 * const plan = planTopology(make!());
 */
import { existsSync } from 'node:fs';
import { ConfigError } from '../src/shared/errors.js';
import { loadPlugins, resolvePluginPath } from '../operators/plugins.js';
import { readTopologyFile, topologyFileFormat, validateFileTopology } from './file.js';
import { freezeTopology, type Topology } from './nodes.js';
import { TOPOLOGIES } from './registry.js';

export * from './builder.js';
export * from './feature-catalog.js';
export * from './file.js';
export * from './nodes.js';
export * from './plan.js';
export * from './registry.js';
export * from './render.js';
export * from './validate.js';

/**
 * Resolves a `--topology` value: the name of a shipped topology, else a topology file
 * (`.json`, `.yaml`, `.yml`; see `file.ts`). Functions from plugins must be registered first.
 *
 * @throws ConfigError naming `flag` (unknown name, missing file); TopologyError naming the field
 *   of a file that is not a valid topology.
 * @example
 * loadTopology('llm-perf');
 * loadTopology('examples/endpoint-errors/topology.yaml');
 */
export function loadTopology(spec: string, flag = '--topology'): Topology {
  const make = TOPOLOGIES.get(spec);
  if (make !== undefined) return make();
  if (topologyFileFormat(spec) !== undefined || existsSync(spec)) return readTopologyFile(spec, flag);
  throw new ConfigError(
    `${flag}: unknown topology "${spec}" (known: ${[...TOPOLOGIES.keys()].join(', ')}; or a .json, .yaml or .yml file)`,
    { field: flag },
  );
}

/**
 * {@link loadTopology} with plugins: loads the `--plugin` modules (paths relative to the working
 * directory) and those a topology file lists (relative to the file), then validates the topology
 * and returns it with every plugin path, absolute, in `plugins` — the workers load them from there.
 *
 * @example
 * const t = await openTopology('examples/endpoint-errors/topology.yaml', ['examples/endpoint-errors/plugin.js']);
 */
export async function openTopology(
  spec: string,
  plugins: readonly string[] = [],
  flag = '--topology',
): Promise<Topology> {
  const fromFlags = plugins.map((p) => resolvePluginPath(p));
  const isFile = !TOPOLOGIES.has(spec) && (topologyFileFormat(spec) !== undefined || existsSync(spec));
  const t = isFile ? readTopologyFile(spec, flag, false) : loadTopology(spec, flag);
  const all = [...new Set([...(t.plugins ?? []), ...fromFlags])];
  await loadPlugins(all);
  const out = all.length === 0 ? t : freezeTopology({ ...t, plugins: all });
  if (isFile) validateFileTopology(out, spec);
  return out;
}
