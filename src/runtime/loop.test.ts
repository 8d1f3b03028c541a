import { describe, expect, it } from 'vitest';
import { CheckpointFirst, type CheckpointKind, type CommitLog, runLoop, type Work } from './loop.js';

/** A promise the test resolves. */
function later() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/** A commit log that records what it was asked, with a checkpoint due when `dueAfter` says so. */
function recordingLog(events: string[], dueAfter: (n: number) => CheckpointKind | null = () => null) {
  let units = 0;
  const log: CommitLog & { units: () => void } = {
    units: () => {
      units++;
    },
    due: () => dueAfter(units),
    checkpoint: async (kind) => {
      events.push(`checkpoint:${kind}`);
      units = 0;
    },
    final: async (exclusive) => {
      await exclusive(async () => {
        events.push('final');
      });
    },
  };
  return log;
}

/**
 * The units, then the end of the work once every unit with `settle` was settled (as a Kafka
 * member's work goes on while its batches are in hand).
 */
function source(units: Work[]) {
  let open = units.filter((u) => u.settle !== undefined).length;
  const allSettled = later();
  if (open === 0) allSettled.resolve();
  const counted = units.map((u) =>
    u.settle === undefined
      ? u
      : {
          ...u,
          settle: (err: unknown) => {
            u.settle!(err);
            if (--open === 0) allSettled.resolve();
          },
        },
  );
  return {
    // As a Kafka member's work (kafkajs bounds the batches in hand).
    maxInFlight: Number.POSITIVE_INFINITY,
    async *work() {
      yield* counted;
      await allSettled.promise;
    },
  };
}

describe('runLoop', () => {
  it('runs exclusive units one at a time in order, then the final checkpoint', async () => {
    const events: string[] = [];
    const log = recordingLog(events);
    const unit = (name: string): Work => ({
      exclusive: true,
      run: async () => {
        events.push(`start ${name}`);
        await tick();
        events.push(`end ${name}`);
        log.units();
      },
    });
    await runLoop(source([unit('a'), unit('b'), unit('c')]), log);
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c', 'final']);
  });

  it('runs shared units side by side, and a due checkpoint alone after them', async () => {
    const events: string[] = [];
    const log = recordingLog(events, (n) => (n >= 2 ? 'interval' : null));
    const gates = [later(), later()];
    const settled: unknown[] = [];
    const unit = (i: number): Work => ({
      exclusive: false,
      run: async () => {
        events.push(`start ${i}`);
        await gates[i]!.promise;
        events.push(`end ${i}`);
        log.units();
      },
      settle: (err) => settled.push(err),
    });
    const done = runLoop(source([unit(0), unit(1)]), log);
    await tick();
    // Both started before either ended: shared units run side by side.
    expect(events).toEqual(['start 0', 'start 1']);
    gates[1]!.resolve();
    await tick();
    gates[0]!.resolve();
    await done;
    expect(events).toEqual(['start 0', 'start 1', 'end 1', 'end 0', 'checkpoint:interval', 'final']);
    expect(settled).toEqual([null, null]);
  });

  it('settles a unit only after the checkpoint it made due', async () => {
    const events: string[] = [];
    const log = recordingLog(events, (n) => (n >= 1 ? 'wanted' : null));
    const w: Work = {
      exclusive: false,
      run: async () => {
        log.units();
      },
      settle: () => events.push('settled'),
    };
    await runLoop(source([w]), log);
    expect(events).toEqual(['checkpoint:wanted', 'settled', 'final']);
  });

  it('does not ask the commit log after a tick', async () => {
    const events: string[] = [];
    const log = recordingLog(events, () => 'interval');
    await runLoop(source([{ exclusive: true, tick: true, run: async () => {} }]), log);
    expect(events).toEqual(['final']);
  });

  it('checkpoints every shard before a CheckpointFirst failure settles its unit', async () => {
    const events: string[] = [];
    const log = recordingLog(events);
    const rebalance = new Error('rebalance');
    let settledWith: unknown = null;
    const w: Work = {
      exclusive: false,
      run: async () => {
        throw new CheckpointFirst(rebalance);
      },
      settle: (err) => {
        events.push('settled');
        settledWith = err;
      },
    };
    await runLoop(source([w]), log);
    expect(events).toEqual(['checkpoint:all', 'settled', 'final']);
    expect(settledWith).toBe(rebalance);
  });

  it('fails on a unit without settle that fails, without the final checkpoint', async () => {
    const events: string[] = [];
    const log = recordingLog(events);
    const after: Work = { exclusive: true, run: async () => void events.push('after') };
    const bad: Work = {
      exclusive: true,
      run: async () => {
        throw new Error('damaged');
      },
    };
    // As a file's reading (one unit in flight): the failure stops it before the next unit.
    const reading = {
      async *work() {
        yield* [bad, after];
      },
    };
    await expect(runLoop(reading, log)).rejects.toThrow('damaged');
    expect(events).toEqual([]);
  });

  it('hands a settled failure to the unit, and goes on', async () => {
    const events: string[] = [];
    const log = recordingLog(events);
    const err = new Error('broker said no');
    let got: unknown = null;
    const bad: Work = {
      exclusive: false,
      run: async () => {
        throw err;
      },
      settle: (e) => {
        got = e;
      },
    };
    const next: Work = { exclusive: true, run: async () => void events.push('next') };
    await runLoop(source([bad, next]), log);
    expect(got).toBe(err);
    expect(events).toEqual(['next', 'final']);
  });

  it('gives the final checkpoint the lock only once the running shared units are done', async () => {
    const events: string[] = [];
    const log = recordingLog(events);
    const gate = later();
    const w: Work = {
      exclusive: false,
      run: async () => {
        await gate.promise;
        events.push('shared done');
      },
      settle: () => {},
    };
    const done = runLoop(
      {
        async *work() {
          yield w;
        },
      },
      log,
    );
    await tick();
    expect(events).toEqual([]);
    gate.resolve();
    await done;
    expect(events).toEqual(['shared done', 'final']);
  });

  it('with units in flight, reaches the final checkpoint while an exclusive unit is stuck', async () => {
    const events: string[] = [];
    const stuck = later();
    const log: CommitLog = {
      due: () => null,
      checkpoint: async () => {},
      // A final that gives up on the lock (as a stopping Kafka member does after its wait).
      final: async () => {
        events.push('final asked');
      },
    };
    const w: Work = {
      exclusive: true,
      tick: true,
      run: () => stuck.promise,
      settle: () => events.push('tick settled'),
    };
    await runLoop(
      {
        maxInFlight: Number.POSITIVE_INFINITY,
        async *work() {
          yield w;
        },
      },
      log,
    );
    // The loop did not wait for the stuck unit to end before the final checkpoint.
    expect(events).toEqual(['final asked']);
    stuck.resolve();
    await tick();
    expect(events).toEqual(['final asked', 'tick settled']);
  });

  it('by default takes the next unit only once the last one is done (a file is read as it is processed)', async () => {
    const events: string[] = [];
    const log = recordingLog(events);
    const gate = later();
    let taken = 0;
    const unit = (i: number): Work => ({
      exclusive: false,
      run: async () => {
        events.push(`start ${i}`);
        if (i === 0) await gate.promise;
        events.push(`end ${i}`);
      },
    });
    const done = runLoop(
      {
        async *work() {
          for (let i = 0; i < 2; i++) {
            taken++;
            yield unit(i);
          }
        },
      },
      log,
    );
    await tick();
    expect(taken).toBe(1);
    gate.resolve();
    await done;
    expect(events).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'final']);
  });
});
