/**
 * What a Kafka member reports when it stops: its own counts (this process) and the job totals of
 * the shards it held (their counters travel with their state through checkpoints and restores).
 */
import type { ProviderStats } from '../../../operators/providers.js';
import type { ShardTask } from './shard-task.js';

/** What this process did (a job spans processes; shard files and stores hold the whole output). */
export interface KafkaRunSummary {
  readonly mode: 'repartition' | 'direct';
  readonly shards: number;
  /** Source records decoded by this process. */
  readonly eventsRead: number;
  /** Written by shards while this process held them (replays after a takeover count again). */
  readonly deadLetters: number;
  readonly deadLettersByReason: Record<string, number>;
  readonly rowsWritten: number;
  readonly rowsByGroup: Record<string, number>;
  /** Output values that failed their registry rule and were written as null, by `feature:reason`. */
  readonly invalidValues: Record<string, number>;
  readonly lateEvents: number;
  readonly lateByWindow: Record<string, number>;
  /** Per provider: distinct keys resolved by this process, and how many a cache answered. */
  readonly provided: ProviderStats;
  /**
   * Job totals (across processes and restarts) of the shards this member held when it stopped:
   * after a bounded run that one member finished alone, the whole job's counts.
   */
  readonly heldTotals: {
    readonly shards: number[];
    readonly deadLettersByReason: Record<string, number>;
    readonly lateByWindow: Record<string, number>;
    readonly rowsByGroup: Record<string, number>;
    readonly invalidValues: Record<string, number>;
  };
  readonly checkpoints: number;
  /** Shards restored (from local state and/or the changelog) by this process. */
  readonly restoredShards: number;
  readonly rebalances: number;
  /** `end`: the bounded run completed (`--stop-at-end`); `signal`: stopped on request. */
  readonly stoppedBy: 'end' | 'signal';
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

/** This process's counts, gathered by {@link summarize}. */
export interface MemberCounts {
  readonly mode: 'repartition' | 'direct';
  readonly shards: number;
  readonly events: number;
  readonly checkpoints: number;
  readonly restored: number;
  readonly rebalances: number;
  readonly provided: ProviderStats;
}

/**
 * The summary of a member: counters of shards it closed (`retired`) and of those it still holds
 * (since it opened them), plus its own counts.
 */
export function summarize(
  counters: readonly ShardTask['counters'][],
  member: MemberCounts,
  held: KafkaRunSummary['heldTotals'],
  stoppedBy: 'end' | 'signal',
  seconds: number,
): KafkaRunSummary {
  const merge = (pick: (c: ShardTask['counters']) => Record<string, number>) => {
    const out: Record<string, number> = {};
    for (const c of counters) for (const [k, v] of Object.entries(pick(c))) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  const dl = merge((c) => c.deadLettersByReason);
  const rows = merge((c) => c.rowsByGroup);
  const late = merge((c) => c.lateByWindow);
  const invalid = merge((c) => c.invalidValues ?? {});
  return {
    mode: member.mode,
    shards: member.shards,
    eventsRead: member.events,
    deadLetters: sum(dl),
    deadLettersByReason: dl,
    rowsWritten: sum(rows),
    rowsByGroup: rows,
    invalidValues: invalid,
    lateEvents: sum(late),
    lateByWindow: late,
    provided: { ...member.provided },
    heldTotals: held,
    checkpoints: member.checkpoints,
    restoredShards: member.restored,
    rebalances: member.rebalances,
    stoppedBy,
    seconds,
    eventsPerSecond: seconds > 0 ? member.events / seconds : 0,
  };
}

/** The job totals of some shards (their counters restore with their state). */
export function heldTotals(tasks: readonly ShardTask[]): KafkaRunSummary['heldTotals'] {
  const add = (into: Record<string, number>, from: Record<string, number> | undefined) => {
    for (const [k, v] of Object.entries(from ?? {})) into[k] = (into[k] ?? 0) + v;
  };
  const out = {
    shards: tasks.map((t) => t.shard).sort((a, b) => a - b),
    deadLettersByReason: {},
    lateByWindow: {},
    rowsByGroup: {},
    invalidValues: {},
  };
  for (const t of tasks) {
    add(out.deadLettersByReason, t.counters.deadLettersByReason);
    add(out.lateByWindow, t.counters.lateByWindow);
    add(out.rowsByGroup, t.counters.rowsByGroup);
    add(out.invalidValues, t.counters.invalidValues);
  }
  return out;
}
