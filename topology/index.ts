/**
 * The topology package: the graph model, the builder, validation, rendering, planning and the
 * shipped topologies.
 *
 * @example
 * const make = TOPOLOGIES.get('llm-features');
 * const plan = planTopology(make!());
 */
import { llmFeaturesTopology, llmPerfTopology } from './llm-features.js';
import type { Topology } from './nodes.js';

export * from './builder.js';
export * from './llm-features.js';
export * from './nodes.js';
export * from './plan.js';
export * from './render.js';
export * from './validate.js';

/** The shipped topologies by name; each factory builds a fresh, validated, frozen topology. */
export const TOPOLOGIES: ReadonlyMap<string, () => Topology> = new Map<string, () => Topology>([
  ['llm-features', llmFeaturesTopology],
  ['llm-perf', llmPerfTopology],
]);
