import { Piscina } from 'piscina';

type PiscinaLoadBalancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;

/** Queue options a task carries (as `task[Piscina.queueOptionsSymbol]`) to pick its worker slot. */
export interface AffinityOptions {
  readonly slot: number;
}

/** Tags a task with its worker slot (symbol keys are not sent to the worker). */
export function withSlot<T extends object>(task: T, slot: number): T {
  Object.defineProperty(task, Piscina.queueOptionsSymbol, {
    value: { slot } satisfies AffinityOptions,
    enumerable: false,
  });
  return task;
}

/**
 * A piscina load balancer that keeps every slot on one worker thread: the first task of a slot
 * binds it to a worker that owns no slot yet, and every later task of that slot goes to the
 * same worker (even when busy: the worker runs its tasks in order). Returning null makes
 * piscina queue the task until a worker is available.
 */
export function affinityBalancer(): PiscinaLoadBalancer {
  const owners = new Map<number, number>();
  return (task, workers) => {
    const opts = (task as unknown as Record<symbol, unknown>)[Piscina.queueOptionsSymbol] as
      | AffinityOptions
      | null
      | undefined;
    if (opts === null || opts === undefined) {
      let best = workers[0] ?? null;
      for (const w of workers) if (best !== null && w.currentUsage < best.currentUsage) best = w;
      return best;
    }
    const owner = owners.get(opts.slot);
    if (owner !== undefined) return workers.find((w) => w.id === owner) ?? null;
    const taken = new Set(owners.values());
    const free = workers.find((w) => !taken.has(w.id));
    if (free === undefined) return null;
    owners.set(opts.slot, free.id);
    return free;
  };
}
