import type { Topology, TopologyNode } from './nodes.js';
import { freezeTopology } from './nodes.js';
import { validateTopology } from './validate.js';

/**
 * The same topology writing every group as version `version`: a new feature version written
 * beside the old one (the stores key rows by group *and* version), e.g. to replay history with
 * changed code and compare or roll out the two versions.
 *
 * @example
 * const v2 = withFeatureVersion(llmFeaturesTopology(), 2);   // rows of every group as v2
 */
export function withFeatureVersion(t: Topology, version: number): Topology {
  const nodes = t.nodes.map(
    (n): TopologyNode => (n.kind === 'window' || n.kind === 'process' ? { ...n, version } : n),
  );
  const out = freezeTopology({ ...t, nodes });
  validateTopology(out);
  return out;
}
