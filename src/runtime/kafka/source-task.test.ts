import { describe, expect, it } from 'vitest';
import { TOPOLOGIES } from '../../../topology/index.js';
import type { Topology } from '../../../topology/nodes.js';
import { lateBoundOf } from './source-task.js';

describe('lateBoundOf', () => {
  it('is the least out-of-orderness of the windows and processors of the shipped topologies', () => {
    // llm-features: windows at 120 s and 600 s, processors (the derived join included) at 120 s.
    expect(lateBoundOf(TOPOLOGIES.get('llm-features')!())).toBe(120_000);
    const wf = TOPOLOGIES.get('api-workflow')!();
    const declared = wf.nodes.flatMap((n) =>
      n.kind === 'window' || n.kind === 'process' ? [n.outOfOrderness] : [],
    );
    expect(lateBoundOf(wf)).toBe(Math.min(...declared));
  });

  it('counts a bound nested in a processor’s parameters (a private window) and a bound of 0', () => {
    const base = TOPOLOGIES.get('llm-features')!();
    const nested: Topology = {
      ...base,
      nodes: base.nodes.map((n) =>
        n.kind === 'process' && n.id === 'derived'
          ? {
              ...n,
              params: {
                ...(n.params as Record<string, unknown>),
                perfWindow: { ...(n.params as { perfWindow: object }).perfWindow, outOfOrderness: 5_000 },
              },
            }
          : n,
      ),
    } as Topology;
    expect(lateBoundOf(nested)).toBe(5_000);
    const zero: Topology = {
      ...base,
      nodes: base.nodes.map((n) =>
        n.kind === 'window' && n.id === 'perf_5min' ? { ...n, outOfOrderness: 0 } : n,
      ),
    };
    expect(lateBoundOf(zero)).toBe(0);
  });
});
