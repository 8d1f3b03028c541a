import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import type { FeatureRow } from '../../operators/operator.js';
import { FILTERS, MAPS } from '../../operators/registry.js';
import { PartitionClock } from '../../operators/watermark.js';
import type { Topology } from '../../topology/nodes.js';
import { planTopology, type TopologyPlan } from '../../topology/plan.js';
import { CommittedFile } from '../connectors/committed-file.js';
import { type FilePosition, readLines } from '../connectors/file-source.js';
import { formatRow } from '../connectors/row-format.js';
import { ConfigError, InternalError } from '../errors.js';
import { decodeLine } from '../events/decode.js';
import { formatTimestamp } from '../events/timestamp.js';
import type { DecodedEvent } from '../events/types.js';
import { affinityBalancer, withSlot } from './affinity-balancer.js';
import { type CheckpointRecord, readCheckpoint, writeCheckpoint } from './checkpoint-record.js';
import type { EncodedBranch, LateRef, ShardRequest, ShardResponse } from './protocol.js';
import { shardOf } from './shard-hash.js';

/** What a run reads, writes and how it is parallelised. */
export interface RunOptions {
  readonly topology: Topology;
  readonly input: string;
  /** Feature rows as NDJSON (the file sink), or null. */
  readonly out: string | null;
  readonly deadLetters: string | null;
  /** The late-data side output as NDJSON, or null (late events are still counted). */
  readonly lateEvents: string | null;
  /** LevelDB state and checkpoint record; null keeps state in memory (no restart). */
  readonly stateDir: string | null;
  readonly workers: number;
  readonly shards: number;
  readonly checkpointIntervalMs: number;
  readonly batchLines?: number;
  /** Delete any previous state in stateDir first. */
  readonly fresh?: boolean;
  readonly logger: Logger;
  /** Called about twice a second with the bytes read so far. */
  readonly onProgress?: (bytes: number, total: number) => void;
  /** Extra row consumers (online/offline stores); called in order, after the file sink. */
  readonly rowSinks?: ReadonlyArray<(rows: readonly FeatureRow[]) => void>;
}

/** What a run did. Counters are totals over the whole job, across restarts. */
export interface RunSummary {
  readonly eventsRead: number;
  readonly deadLetters: number;
  readonly deadLettersByReason: Record<string, number>;
  readonly lateEvents: number;
  readonly lateByWindow: Record<string, number>;
  readonly rowsWritten: number;
  readonly rowsByGroup: Record<string, number>;
  readonly checkpoints: number;
  /** The checkpoint this process resumed from, or null for a fresh start. */
  readonly resumedFrom: number | null;
  /** True when the state dir held a finished job and nothing was run. */
  readonly alreadyComplete: boolean;
  /** Seconds and events/s of this process. */
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

interface Counters {
  eventsRead: number;
  deadLettersByReason: Record<string, number>;
  lateByWindow: Record<string, number>;
  rowsByGroup: Record<string, number>;
}

/** Growable columns of one branch for one shard. */
class BranchBuilder {
  keys: string[] = [];
  ts: number[] = [];
  clock: number[] = [];
  values: number[] = [];
  refs: number[] = [];
  constructor(readonly width: number) {}

  take(): EncodedBranch | null {
    const count = this.keys.length;
    if (count === 0) return null;
    const enc: EncodedBranch = {
      count,
      width: this.width,
      keys: this.keys,
      ts: new Float64Array(this.ts),
      clock: new Float64Array(this.clock),
      values: new Float64Array(this.values),
      refs: new Float64Array(this.refs),
    };
    this.keys = [];
    this.ts = [];
    this.clock = [];
    this.values = [];
    this.refs = [];
    return enc;
  }
}

interface RetainedBatch {
  readonly firstLine: number;
  readonly lines: string[];
  refs: number;
}

class ShardLink {
  readonly builders: BranchBuilder[];
  pending = 0;
  inFlight: Promise<void> | null = null;
  sentClock = Number.NEGATIVE_INFINITY;
  covered = new Set<RetainedBatch>();
  constructor(
    readonly shard: number,
    readonly slot: number,
    widths: readonly number[],
  ) {
    this.builders = widths.map((w) => new BranchBuilder(w));
  }
}

interface CompiledChain {
  readonly filters: Array<(e: DecodedEvent) => boolean>;
  readonly map: (e: DecodedEvent) => { ts: number; attrs: Readonly<Record<string, string>>; values: readonly number[] } | null;
  readonly key: string;
  readonly width: number;
}

/** Resolves the compiled worker entry (tests run the TypeScript sources against the build). */
export function workerFile(): string {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith('.ts')
    ? new URL('../../dist/src/runtime/shard-worker.js', here).pathname
    : new URL('./shard-worker.js', here).pathname;
}

function compileChains(plan: TopologyPlan): CompiledChain[] {
  return plan.pre.map((chain, i) => {
    const filters: CompiledChain['filters'] = [];
    let map: CompiledChain['map'] | null = null;
    for (const n of chain.nodes) {
      if (n.kind === 'filter') filters.push(FILTERS.get(n.fn)!.create(n.params));
      if (n.kind === 'map') map = MAPS.get(n.fn)!.create(n.params);
    }
    const stage = plan.keyed[i]!;
    if (map === null) throw new InternalError(`chain to ${chain.keyBy} has no map`);
    return { filters, map, key: stage.keyBy.key, width: stage.map.fields.length };
  });
}

/**
 * The coordinator: reads the source, decodes and runs the stateless chains, routes records by
 * key to shard actors on a piscina pool, writes what they fire to the sinks, and drives
 * aligned checkpoints.
 *
 * A checkpoint is an aligned barrier: the coordinator stops routing, lets every shard finish
 * the records sent before the barrier, asks each shard to write its changed state together
 * with the source position in one batch (phase 1), fsyncs the sink files, and then commits the
 * checkpoint record atomically (write + rename); shards fold their delta when told (phase 2).
 * After a crash, shards come back at the committed checkpoint, sink files are cut back to their
 * committed lengths, and the source resumes at the committed position: every row ends up in the
 * sinks exactly once.
 */
export async function runJob(opts: RunOptions): Promise<RunSummary> {
  const log = opts.logger;
  const plan = planTopology(opts.topology);
  const chains = compileChains(plan);
  const started = performance.now();
  if (!existsSync(opts.input)) throw new ConfigError(`--input: no such file: ${opts.input}`, { field: '--input' });
  const totalBytes = statSync(opts.input).size;

  let record: CheckpointRecord | null = null;
  if (opts.stateDir !== null) {
    if (opts.fresh === true) rmSync(opts.stateDir, { recursive: true, force: true });
    mkdirSync(opts.stateDir, { recursive: true });
    record = readCheckpoint(opts.stateDir);
    if (record !== null) {
      if (record.topology !== opts.topology.name) {
        throw new ConfigError(
          `--state-dir holds a checkpoint of topology "${record.topology}", not "${opts.topology.name}" (use another --state-dir or --fresh)`,
          { field: '--state-dir' },
        );
      }
      if (record.shards !== opts.shards) {
        throw new ConfigError(
          `--shards must stay ${record.shards} for the state in --state-dir (got ${opts.shards}); the key→shard mapping depends on it`,
          { field: '--shards' },
        );
      }
    }
  }
  const counters: Counters = record?.counters
    ? structuredClone(record.counters)
    : { eventsRead: 0, deadLettersByReason: {}, lateByWindow: {}, rowsByGroup: {} };

  if (record?.done === true) {
    log.info({ checkpoint: record.id }, 'state dir holds a finished job: nothing to do');
    return summarize(counters, 0, record.id, true, started, 0);
  }

  const resumedFrom = record === null ? null : record.id;
  const out = opts.out === null ? null : CommittedFile.open(opts.out, record?.sinks.out ?? null);
  const dl = opts.deadLetters === null ? null : CommittedFile.open(opts.deadLetters, record?.sinks.deadLetters ?? null);
  const lateOut = opts.lateEvents === null ? null : CommittedFile.open(opts.lateEvents, record?.sinks.lateEvents ?? null);
  const clock = new PartitionClock();
  if (record !== null) clock.restore(record.clock, Date.now());
  let position: FilePosition = record?.position ?? { offset: 0, line: 0 };
  let checkpointId = record?.id ?? 0;
  let checkpoints = 0;
  const eventsAtStart = counters.eventsRead;
  if (resumedFrom !== null) {
    log.info({ checkpoint: resumedFrom, line: position.line, offset: position.offset }, 'resuming from checkpoint');
  }

  const pool = new Piscina({
    filename: workerFile(),
    minThreads: opts.workers,
    maxThreads: opts.workers,
    idleTimeout: Number.POSITIVE_INFINITY,
    concurrentTasksPerWorker: opts.shards + 1,
    loadBalancer: affinityBalancer(),
    atomics: 'disabled',
  });
  const call = (req: ShardRequest, transferList?: ArrayBuffer[]): Promise<ShardResponse> => {
    const slot = req.shard % opts.workers;
    return pool.run(withSlot({ ...req }, slot), transferList === undefined ? {} : { transferList });
  };

  const widths = chains.map((c) => c.width);
  const links = Array.from({ length: opts.shards }, (_, s) => new ShardLink(s, s % opts.workers, widths));
  const retained = new Map<number, RetainedBatch>();
  let failure: unknown = null;
  let inFlightRecords = 0;
  let pendingRecords = 0;

  const lineOf = (n: number): string | undefined => {
    for (const b of retained.values()) {
      if (n >= b.firstLine && n < b.firstLine + b.lines.length) return b.lines[n - b.firstLine];
    }
    return undefined;
  };
  const release = (b: RetainedBatch) => {
    if (--b.refs === 0) retained.delete(b.firstLine);
  };

  const writeRows = (rows: readonly FeatureRow[]) => {
    for (const r of rows) {
      counters.rowsByGroup[r.group] = (counters.rowsByGroup[r.group] ?? 0) + 1;
      out?.append(formatRow(r));
    }
    if (opts.rowSinks !== undefined && rows.length > 0) for (const sink of opts.rowSinks) sink(rows);
  };
  const windowGroup = new Map(plan.keyed.flatMap((k) => k.windows.map((w) => [w.id, w.group] as const)));
  const writeLate = (late: readonly LateRef[]) => {
    for (const [line, op, ts] of late) {
      counters.lateByWindow[op] = (counters.lateByWindow[op] ?? 0) + 1;
      lateOut?.append(
        `${JSON.stringify({ line: line + 1, window: op, group: windowGroup.get(op), event_time: formatTimestamp(ts), raw: lineOf(line) ?? null })}\n`,
      );
    }
  };

  const send = (link: ShardLink): void => {
    if (link.inFlight !== null || failure !== null) return;
    const now = clock.current;
    if (link.pending === 0 && now === link.sentClock) return;
    const branches = link.builders.map((b) => b.take());
    const transfer: ArrayBuffer[] = [];
    for (const b of branches) {
      if (b !== null) transfer.push(b.ts.buffer as ArrayBuffer, b.clock.buffer as ArrayBuffer, b.values.buffer as ArrayBuffer, b.refs.buffer as ArrayBuffer);
    }
    const n = link.pending;
    const covered = [...link.covered];
    link.covered.clear();
    link.pending = 0;
    pendingRecords -= n;
    inFlightRecords += n;
    link.sentClock = now;
    link.inFlight = call({ type: 'process', shard: link.shard, branches, endClock: now, now: Date.now() }, transfer).then(
      (res) => {
        if (res.type !== 'output') throw new InternalError(`shard ${link.shard} answered ${res.type} to process`);
        writeRows(res.rows);
        writeLate(res.late);
        for (const b of covered) release(b);
        inFlightRecords -= n;
        link.inFlight = null;
        send(link);
      },
    );
    link.inFlight.catch((err: unknown) => {
      failure ??= err;
    });
  };
  const anyInFlight = () => links.filter((l) => l.inFlight !== null).map((l) => l.inFlight!);
  const drain = async () => {
    for (;;) {
      for (const l of links) send(l);
      const busy = anyInFlight();
      if (failure !== null) throw failure;
      if (busy.length === 0) return;
      await Promise.allSettled(busy);
    }
  };

  const checkpoint = async (done: boolean) => {
    await drain();
    const id = checkpointId + 1;
    const meta = { line: String(position.line), offset: String(position.offset), input: opts.input };
    await Promise.all(links.map((l) => call({ type: 'checkpoint', shard: l.shard, id, meta })));
    const rec: CheckpointRecord = {
      version: 1,
      id,
      topology: opts.topology.name,
      shards: opts.shards,
      input: opts.input,
      position,
      clock: clock.snapshot(),
      sinks: { out: out?.commit() ?? null, deadLetters: dl?.commit() ?? null, lateEvents: lateOut?.commit() ?? null },
      counters,
      done,
    };
    if (opts.stateDir !== null) writeCheckpoint(opts.stateDir, rec);
    await Promise.all(links.map((l) => call({ type: 'commit', shard: l.shard, id })));
    checkpointId = id;
    checkpoints++;
    log.debug({ checkpoint: id, line: position.line, done }, 'checkpoint committed');
  };

  try {
    const opened = await Promise.all(
      links.map((l) =>
        call({
          type: 'open',
          shard: l.shard,
          topology: opts.topology,
          location: opts.stateDir === null ? null : join(opts.stateDir, `shard-${l.shard}`),
          committedId: checkpointId,
        }),
      ),
    );
    for (const o of opened) {
      if (o.type !== 'opened') throw new InternalError(`shard answered ${o.type} to open`);
      if (resumedFrom !== null && o.meta.line !== String(position.line)) {
        throw new InternalError(
          `shard ${o.shard} restored position line ${o.meta.line}, the checkpoint record says ${position.line}`,
        );
      }
    }

    let lastCheckpoint = performance.now();
    let lastProgress = 0;
    const maxBuffered = 200_000;
    for await (const batch of readLines(opts.input, position, opts.batchLines ?? 2048)) {
      if (failure !== null) throw failure;
      const retainedBatch: RetainedBatch = { firstLine: batch.firstLine, lines: batch.lines, refs: 1 };
      retained.set(batch.firstLine, retainedBatch);
      const now = Date.now();
      const { lines, offsets } = batch;
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i]!;
        if (line.length === 0) continue;
        counters.eventsRead++;
        const lineNo = batch.firstLine + i;
        const res = decodeLine(line);
        if (!res.ok) {
          counters.deadLettersByReason[res.reason] = (counters.deadLettersByReason[res.reason] ?? 0) + 1;
          dl?.append(
            `${JSON.stringify({ line: lineNo + 1, offset: offsets[i], reason: res.reason, detail: res.detail, raw: line })}\n`,
          );
          continue;
        }
        const ev = res.event;
        const before = clock.current;
        for (let c = 0; c < chains.length; c++) {
          const chain = chains[c]!;
          let keep = true;
          for (const f of chain.filters) {
            if (!f(ev)) {
              keep = false;
              break;
            }
          }
          if (!keep) continue;
          const rec = chain.map(ev);
          if (rec === null) continue;
          const key = rec.attrs[chain.key]!;
          const link = links[shardOf(key, opts.shards)]!;
          const b = link.builders[c]!;
          b.keys.push(key);
          b.ts.push(rec.ts);
          b.clock.push(before);
          for (const v of rec.values) b.values.push(v);
          b.refs.push(lineNo);
          link.pending++;
          pendingRecords++;
          if (!link.covered.has(retainedBatch)) {
            link.covered.add(retainedBatch);
            retainedBatch.refs++;
          }
        }
        clock.observe(0, ev.ts, now);
      }
      position = batch.end;
      release(retainedBatch);
      for (const l of links) send(l);
      while (pendingRecords + inFlightRecords > maxBuffered && failure === null) {
        await Promise.race(anyInFlight());
        for (const l of links) send(l);
      }
      const t = performance.now();
      if (opts.onProgress !== undefined && t - lastProgress > 500) {
        lastProgress = t;
        opts.onProgress(position.offset, totalBytes);
      }
      if (t - lastCheckpoint >= opts.checkpointIntervalMs) {
        await checkpoint(false);
        lastCheckpoint = performance.now();
      }
    }
    // End of a bounded input: the watermark goes to +∞ and every window fires.
    clock.finish();
    await drain();
    await checkpoint(true);
    opts.onProgress?.(totalBytes, totalBytes);
    await Promise.all(links.map((l) => call({ type: 'close', shard: l.shard })));
  } finally {
    await pool.destroy();
    out?.close();
    dl?.close();
    lateOut?.close();
  }
  return summarize(counters, checkpoints, resumedFrom, false, started, counters.eventsRead - eventsAtStart);
}

function summarize(
  c: Counters,
  checkpoints: number,
  resumedFrom: number | null,
  alreadyComplete: boolean,
  started: number,
  processedHere: number,
): RunSummary {
  const seconds = (performance.now() - started) / 1000;
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return {
    eventsRead: c.eventsRead,
    deadLetters: sum(c.deadLettersByReason),
    deadLettersByReason: c.deadLettersByReason,
    lateEvents: sum(c.lateByWindow),
    lateByWindow: c.lateByWindow,
    rowsWritten: sum(c.rowsByGroup),
    rowsByGroup: c.rowsByGroup,
    checkpoints,
    resumedFrom,
    alreadyComplete,
    seconds,
    eventsPerSecond: seconds > 0 ? processedHere / seconds : 0,
  };
}

/** Reads a checkpoint record file if present (exported for tools and tests). */
export function checkpointPath(stateDir: string): string {
  return join(stateDir, 'checkpoint.json');
}

export function readCheckpointFile(stateDir: string): unknown {
  const p = checkpointPath(stateDir);
  return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : null;
}
