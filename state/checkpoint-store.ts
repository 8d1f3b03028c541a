import { InternalError } from '../src/shared/errors.js';
import type { BatchOp, StateBackend } from './backend.js';

/** The state of one shard as of a committed checkpoint. */
export interface ShardSnapshot {
  /** The checkpoint this state belongs to; 0 when nothing was ever committed. */
  readonly checkpointId: number;
  /** The shard's entries, in key order. */
  readonly entries: ReadonlyMap<string, string>;
  /** Whatever was passed as meta to `prepare` of that checkpoint (e.g. source positions). */
  readonly meta: Readonly<Record<string, string>>;
}

// Key layout in the backend:
//   c:committed      id of the checkpoint the committed state belongs to (absent = 0)
//   c:meta           JSON meta of the committed checkpoint
//   c:pending        id of the prepared, not yet folded delta (absent = none)
//   s:<key>          committed entry
//   d:<id>:<key>     pending delta: 'P' + value (put) or 'D' (delete)
//   dm:<id>          JSON meta of the pending delta
// Meta is stored whole because a checkpoint's meta replaces the previous one; entries are
// deltas and fold into `s:`.
const COMMITTED = 'c:committed';
const PENDING = 'c:pending';
const META = 'c:meta';
const ENTRY = 's:';
const DELTA = 'd:';
const DELTA_META = 'dm:';
const PUT_TAG = 'P';
const DELETE_TAG = 'D';

interface PendingDelta {
  readonly id: number;
  readonly changes: ReadonlyMap<string, string | null>;
  readonly meta: Readonly<Record<string, string>>;
}

function assertCheckpointId(id: number, what: string, min: number): void {
  if (!Number.isSafeInteger(id) || id < min) {
    throw new InternalError(`${what} must be an integer ≥ ${min}, got ${String(id)}`, {
      field: 'checkpointId',
    });
  }
}

function parseId(raw: string | undefined, key: string): number | undefined {
  if (raw === undefined) return undefined;
  const id = Number(raw);
  if (!/^[1-9][0-9]*$/.test(raw) || !Number.isSafeInteger(id)) {
    throw new InternalError(`checkpoint store is corrupt: ${key} holds ${JSON.stringify(raw)}, not an id`);
  }
  return id;
}

function parseMeta(raw: string | undefined, key: string): Record<string, string> {
  if (raw === undefined) return {};
  try {
    const meta: unknown = JSON.parse(raw);
    if (
      typeof meta === 'object' &&
      meta !== null &&
      !Array.isArray(meta) &&
      Object.values(meta).every((v) => typeof v === 'string')
    ) {
      return meta as Record<string, string>;
    }
  } catch {
    // falls through to the error below
  }
  throw new InternalError(`checkpoint store is corrupt: ${key} is not a JSON object of strings`);
}

function deltaKey(id: number, key: string): string {
  return `${DELTA}${id}:${key}`;
}

/** The operations that turn a pending delta into the committed state, clearing the delta. */
function foldOps(delta: PendingDelta): BatchOp[] {
  const ops: BatchOp[] = [];
  for (const [key, value] of delta.changes) {
    ops.push(value === null ? { type: 'del', key: ENTRY + key } : { type: 'put', key: ENTRY + key, value });
    ops.push({ type: 'del', key: deltaKey(delta.id, key) });
  }
  ops.push(
    { type: 'put', key: META, value: JSON.stringify(delta.meta) },
    { type: 'del', key: DELTA_META + delta.id },
    { type: 'put', key: COMMITTED, value: String(delta.id) },
    { type: 'del', key: PENDING },
  );
  return ops;
}

/**
 * The per-shard checkpoint store: the shard's half of the coordinator's two-phase checkpoint,
 * on top of any {@link StateBackend}. `prepare(id)` durably stores the changes since the last
 * checkpoint as a pending delta without touching the committed state; once the coordinator
 * has recorded checkpoint `id` as committed, `commit(id)` folds the delta in. After a crash,
 * `restore(C)` with the coordinator's last committed id folds a pending delta ≤ C (the
 * coordinator committed it but the shard had not folded it yet) and discards one > C, so the
 * shard always comes back exactly at checkpoint C.
 *
 * Entries are deltas (a value puts, null deletes); meta is whole: each checkpoint's meta
 * replaces the previous one. Calls are serialized, so a `prepare` issued before the previous
 * `commit` resolved waits for it.
 *
 * @example
 * const store = new CheckpointStore(new LevelDbBackend('.featurestream/shard-0'));
 * const { entries, meta } = await store.restore(coordinator.lastCommitted()); // 0 = fresh
 * await store.prepare(8, new Map([['w:gpt-4', '{"v":1,"n":3}'], ['w:old', null]]), { 'events:0': '1042' });
 * // ... the coordinator collects every shard's prepare and records 8 as committed ...
 * await store.commit(8);
 * await store.close();
 */
export class CheckpointStore {
  readonly #backend: StateBackend;
  #restored = false;
  #committedId = 0;
  #pending: PendingDelta | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(backend: StateBackend) {
    this.#backend = backend;
  }

  /** Opens and restores: returns the state as of the coordinator's last committed checkpoint `committedId` (0 = none: empty). */
  restore(committedId: number): Promise<ShardSnapshot> {
    return this.#serial(() => this.#restore(committedId));
  }

  /** Phase 1 of checkpoint `id`: writes, in ONE backend batch, the changed entries (value string = put, null = delete) and the meta (e.g. source positions), as a pending delta tagged `id`. Must not alter the committed state. */
  prepare(
    id: number,
    changes: ReadonlyMap<string, string | null>,
    meta: Readonly<Record<string, string>>,
  ): Promise<void> {
    return this.#serial(() => this.#prepare(id, changes, meta));
  }

  /** Phase 2: the coordinator committed `id`: folds the pending delta into the committed state in ONE batch. A repeated commit of an already folded id does nothing. */
  commit(id: number): Promise<void> {
    return this.#serial(() => this.#commit(id));
  }

  /** Closes the backend. A pending delta stays on disk; the next `restore` decides its fate. */
  close(): Promise<void> {
    return this.#serial(async () => {
      this.#restored = false;
      this.#pending = undefined;
      await this.#backend.close();
    });
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(op, op);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #restore(coordinatorId: number): Promise<ShardSnapshot> {
    assertCheckpointId(coordinatorId, 'restore: committed checkpoint id', 0);
    this.#restored = false;
    this.#pending = undefined;
    const db = this.#backend;
    await db.open();

    const committedId = parseId(await db.get(COMMITTED), COMMITTED) ?? 0;
    const pendingId = parseId(await db.get(PENDING), PENDING);
    if (committedId > coordinatorId) {
      throw new InternalError(
        `shard state is at checkpoint ${committedId} but the coordinator's last committed checkpoint is ${coordinatorId}: ` +
          'the shard only folds checkpoints the coordinator committed, so the coordinator state was lost or belongs to another job',
      );
    }
    if (pendingId !== undefined && pendingId <= committedId) {
      throw new InternalError(
        `checkpoint store is corrupt: pending delta ${pendingId} is not newer than committed checkpoint ${committedId}`,
      );
    }

    // Read every delta key, not only the pending one's, so that leftovers of a prepare whose
    // batch failed are cleaned up too.
    const ops: BatchOp[] = [];
    const fold = pendingId !== undefined && pendingId <= coordinatorId;
    const changes = new Map<string, string | null>();
    const ownPrefix = pendingId === undefined ? undefined : `${DELTA}${pendingId}:`;
    for await (const [key, value] of db.entries(DELTA)) {
      if (fold && ownPrefix !== undefined && key.startsWith(ownPrefix)) {
        const entryKey = key.slice(ownPrefix.length);
        if (value === DELETE_TAG) changes.set(entryKey, null);
        else if (value.startsWith(PUT_TAG)) changes.set(entryKey, value.slice(PUT_TAG.length));
        else throw new InternalError(`checkpoint store is corrupt: ${key} holds an unknown delta tag`);
      } else {
        ops.push({ type: 'del', key });
      }
    }
    for await (const [key] of db.entries(DELTA_META)) {
      if (!(fold && key === DELTA_META + pendingId)) ops.push({ type: 'del', key });
    }
    if (fold) {
      const metaKey = DELTA_META + pendingId;
      const meta = parseMeta(await db.get(metaKey), metaKey);
      ops.push(...foldOps({ id: pendingId, changes, meta }));
    } else if (pendingId !== undefined) {
      ops.push({ type: 'del', key: PENDING });
    }
    if (ops.length > 0) await db.batch(ops);

    const entries = new Map<string, string>();
    for await (const [key, value] of db.entries(ENTRY)) entries.set(key.slice(ENTRY.length), value);
    const checkpointId = fold ? pendingId : committedId;
    const meta = parseMeta(await db.get(META), META);

    this.#committedId = checkpointId;
    this.#restored = true;
    return { checkpointId, entries, meta };
  }

  async #prepare(
    id: number,
    changes: ReadonlyMap<string, string | null>,
    meta: Readonly<Record<string, string>>,
  ): Promise<void> {
    this.#requireRestored('prepare');
    assertCheckpointId(id, 'prepare: checkpoint id', 1);
    if (this.#pending !== undefined) {
      throw new InternalError(
        `prepare(${id}) while checkpoint ${this.#pending.id} is still pending: commit(${this.#pending.id}) first, ` +
          'or restore() to discard it',
      );
    }
    if (id <= this.#committedId) {
      throw new InternalError(
        `prepare(${id}): checkpoint ids must grow, ${this.#committedId} is already committed`,
      );
    }
    // Copies: the caller may reuse its map and object for the next interval.
    const delta: PendingDelta = { id, changes: new Map(changes), meta: { ...meta } };
    for (const [key, value] of delta.changes) {
      if (value !== null && typeof value !== 'string') {
        throw new InternalError(`prepare(${id}): change for ${JSON.stringify(key)} must be a string or null`);
      }
    }
    for (const [key, value] of Object.entries(delta.meta)) {
      if (typeof value !== 'string') {
        throw new InternalError(`prepare(${id}): meta ${JSON.stringify(key)} must be a string`, {
          field: key,
        });
      }
    }

    const ops: BatchOp[] = [];
    for (const [key, value] of delta.changes) {
      ops.push({ type: 'put', key: deltaKey(id, key), value: value === null ? DELETE_TAG : PUT_TAG + value });
    }
    ops.push(
      { type: 'put', key: DELTA_META + id, value: JSON.stringify(delta.meta) },
      { type: 'put', key: PENDING, value: String(id) },
    );
    await this.#backend.batch(ops);
    this.#pending = delta;
  }

  async #commit(id: number): Promise<void> {
    this.#requireRestored('commit');
    assertCheckpointId(id, 'commit: checkpoint id', 1);
    const pending = this.#pending;
    if (pending?.id === id) {
      await this.#backend.batch(foldOps(pending));
      this.#committedId = id;
      this.#pending = undefined;
      return;
    }
    // Already folded (e.g. by restore, or a repeated commit message): nothing to do.
    if (id <= this.#committedId) return;
    throw new InternalError(
      `commit(${id}) but ${pending === undefined ? 'no checkpoint is' : `checkpoint ${pending.id} is`} pending`,
    );
  }

  #requireRestored(operation: string): void {
    if (!this.#restored) throw new InternalError(`CheckpointStore.${operation} before restore()`);
  }
}
