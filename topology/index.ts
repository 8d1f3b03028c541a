/**
 * The topology package: the graph model, the builder, validation, rendering, planning and the
 * shipped topologies.
 *
 * @example
 * const make = TOPOLOGIES.get('llm-features');
 * const plan = planTopology(make!());
 */
import { apiWorkflowTopology } from './api-workflow.js';
import { existsSync } from 'node:fs';
import { ConfigError } from '../src/errors.js';
import { readTopologyFile, topologyFileFormat } from './file.js';
import { llmFeaturesTopology, llmPerfTopology } from './llm-features.js';
import type { Topology } from './nodes.js';

export * from './api-workflow.js';
export * from './builder.js';
export * from './file.js';
export * from './llm-features.js';
export * from './nodes.js';
export * from './plan.js';
export * from './render.js';
export * from './validate.js';

/** The shipped topologies by name; each factory builds a fresh, validated, frozen topology. */
export const TOPOLOGIES: ReadonlyMap<string, () => Topology> = new Map<string, () => Topology>([
  ['llm-features', llmFeaturesTopology],
  ['llm-perf', llmPerfTopology],
  ['api-workflow', () => apiWorkflowTopology()],
]);

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
