import { describe, expect, it } from 'vitest';
import { llmFeaturesTopology } from '../src/domains/llm/topology.js';
import { withFeatureVersion } from './versioned.js';

describe('withFeatureVersion', () => {
  it('sets the version of every window and process node and nothing else', () => {
    const t = llmFeaturesTopology();
    const v2 = withFeatureVersion(t, 2);
    const versioned = v2.nodes.filter((n) => n.kind === 'window' || n.kind === 'process');
    expect(versioned.length).toBe(9);
    for (const n of versioned) expect((n as { version: number }).version).toBe(2);
    // Every other field is unchanged.
    const strip = (x: object) => JSON.parse(JSON.stringify(x, (k, v) => (k === 'version' ? undefined : v)));
    expect(strip(v2)).toEqual(strip(t));
    expect(t.nodes.some((n) => (n as { version?: number }).version === 2)).toBe(false);
  });

  it('rejects a version that is not a positive integer', () => {
    expect(() => withFeatureVersion(llmFeaturesTopology(), 0)).toThrow(/version/);
  });
});
