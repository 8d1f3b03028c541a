import { describe, expect, it } from 'vitest';
import { TOPOLOGIES } from '../../../topology/index.js';
import type { Topology } from '../../../topology/nodes.js';
import type { KafkaMessage } from 'kafkajs';
import { lateBoundOf, SourceTask } from './source-task.js';

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

describe('SourceTask gathering', () => {
  const m = (offset: number): KafkaMessage =>
    ({
      offset: String(offset),
      key: null,
      value: Buffer.from(`{"o":${offset}}`),
      timestamp: '0',
      attributes: 0,
      headers: {},
    }) as KafkaMessage;
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => m(from + i));
  const chunkTo = (next: number) => ({
    frames: [],
    events: 0,
    deadLetters: [],
    provided: {},
    next,
    end: 0,
    eof: false,
  });

  it('gathers each offset once from where it stands, up to the end offset', () => {
    const t = new SourceTask(0, 'events', 25);
    t.init(5, Number.NEGATIVE_INFINITY);
    t.gather(range(0, 10)); // 0–4 are before the committed offset
    expect(t.gathered).toBe(5);
    expect(t.readTo).toBe(10);
    t.gather(range(8, 14)); // fetched again (kafkajs retried a batch): 8, 9 already taken
    expect(t.peek(100).map((x) => Number(x.offset))).toEqual(range(5, 14).map((x) => Number(x.offset)));
    t.gather(range(14, 30)); // 25 and later are past the end
    expect(t.readTo).toBe(25);
    expect(t.gathered).toBe(20);
  });

  it('drops what a sent chunk covered, and forgets the rest when it goes back to its committed offset', () => {
    const t = new SourceTask(1, 'events', null);
    t.init(null, Number.NEGATIVE_INFINITY);
    t.gather(range(0, 12));
    expect(t.peek(5).map((x) => Number(x.offset))).toEqual([0, 1, 2, 3, 4]);
    t.advance(chunkTo(5));
    expect(t.next).toBe(5);
    expect(t.peek(100).map((x) => Number(x.offset))).toEqual([5, 6, 7, 8, 9, 10, 11]);
    expect(t.readTo).toBe(12);
    t.committed = { offset: 5, base: Number.NEGATIVE_INFINITY, eof: false };
    t.resetToCommitted(); // a rebalance: the consumer reads again from 5
    expect(t.gathered).toBe(0);
    expect(t.readTo).toBe(5);
    t.gather(range(5, 8));
    expect(t.peek(100).map((x) => Number(x.offset))).toEqual([5, 6, 7]);
  });
});
