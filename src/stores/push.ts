/**
 * The push path: how a command writes the embedded stores while `serve` holds them (an embedded
 * store admits one process). As Feast's feature server takes `POST /push`, a `serve` on embedded
 * stores also listens on a second, loopback-only address for feature rows, and writes them with
 * the stores it has open — the reads go on meanwhile. It announces the address in a file beside
 * each store's lock, {@link PUSH_FILE} (`{pid, url, token}`, mode 0600: only the user who runs
 * `serve` can read the token). A writer (`replay`) that finds the stores locked by the process
 * named there sends its rows to it ({@link PushSink}) instead of opening the stores.
 *
 * The protocol: `POST /push` with `authorization: Bearer TOKEN` and a JSON body
 * `{"topology": NAME, "targets": ["online", "offline"], "rows": [FeatureRow, …]}`, and optionally
 * `"deadLetters": [DeadLetterRecord, …]` and `"late": [LateRecord, …]` (the side outputs, for the
 * stores that keep them: a replay through `serve` stores them as a replay on its own would); 200
 * `{"written": N}` once the rows are durable in every target (the sinks' flush), 400 for a body
 * that is not rows, 401 for a wrong token, 5xx with `{"error"}` when a store failed. A push
 * applies rows as a run's sinks do (idempotent: newer revision wins), so a writer that crashes
 * and sends the same rows again changes nothing.
 *
 * @example
 * const push = await startPushEndpoint({ dirs, sinksFor: (topology, targets) => …, logger });
 * await push.close();
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { FeatureRow } from '../../operators/operator.js';
import type { DeadLetterRecord, LateRecord, RowSink } from '../runtime/sink.js';
import { ExternalError } from '../shared/errors.js';
import { readLock } from './dir-lock.js';

/** The file beside a store's lock that names the push address of the process holding it. */
export const PUSH_FILE = 'featurestream.push.json';

/** Which stores a push writes. */
export type PushTarget = 'online' | 'offline';

/** What {@link PUSH_FILE} holds. */
export interface PushAnnouncement {
  readonly pid: number;
  /** `http://127.0.0.1:PORT/push`. */
  readonly url: string;
  readonly token: string;
}

/** A running push endpoint (see the module comment). */
export interface PushEndpoint {
  readonly url: string;
  /** Stops listening (in-flight pushes finish) and removes the announcements. */
  close(): Promise<void>;
}

/** The largest push body accepted, bytes (a writer sends one batch of rows per request). */
const MAX_BODY = 64 * 1024 * 1024;

/**
 * Listens on 127.0.0.1 (an OS-chosen port) for pushes and announces the address in each of
 * `dirs`. `sinksFor` gives the sinks a push with that writer topology and targets goes to; they
 * are written and flushed one push at a time.
 */
export async function startPushEndpoint(opts: {
  readonly dirs: readonly string[];
  readonly sinksFor: (topology: string, targets: readonly PushTarget[]) => readonly RowSink[];
  readonly logger: Logger;
  /** Called once a push's rows are durable, before it is answered (serve drops its L1 here). */
  readonly onWritten?: (rows: readonly FeatureRow[]) => void;
}): Promise<PushEndpoint> {
  const token = randomBytes(24).toString('hex');
  const expected = Buffer.from(`Bearer ${token}`);
  let queue: Promise<unknown> = Promise.resolve();
  const answer = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST' || req.url !== '/push') return answer(res, 404, { error: 'POST /push only' });
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected))
      return answer(res, 401, { error: 'wrong or missing bearer token' });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) return answer(res, 413, { error: `body over ${MAX_BODY} bytes` });
      chunks.push(c as Buffer);
    }
    let body: PushBody;
    try {
      body = parseBody(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      return answer(res, 400, { error: (err as Error).message });
    }
    const work = queue.then(async () => {
      const sinks = opts.sinksFor(body.topology, body.targets);
      for (const s of sinks) {
        if (body.rows.length > 0) await s.write(body.rows);
        if (body.deadLetters.length > 0) await s.writeDeadLetters?.(body.deadLetters);
        if (body.late.length > 0) await s.writeLate?.(body.late);
      }
      for (const s of sinks) await s.flush();
      opts.onWritten?.(body.rows);
    });
    queue = work.catch(() => {});
    try {
      await work;
      answer(res, 200, { written: body.rows.length });
    } catch (err) {
      opts.logger.error({ err }, 'push: a store write failed');
      answer(res, 503, { error: err instanceof Error ? err.message : String(err) });
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) answer(res, 500, { error: String(err) });
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`;
  const announcement: PushAnnouncement = { pid: process.pid, url, token };
  const files = opts.dirs.map((d) => join(resolve(d), PUSH_FILE));
  for (const f of files) {
    const tmp = `${f}.${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(announcement)}\n`, { mode: 0o600 });
    renameSync(tmp, f);
  }
  const removeFiles = () => {
    for (const f of files) if (readAnnouncement(f)?.pid === process.pid) rmSync(f, { force: true });
  };
  process.once('exit', removeFiles);
  let closing: Promise<void> | null = null;
  return {
    url,
    close() {
      closing ??= new Promise<void>((done) => {
        removeFiles();
        process.removeListener('exit', removeFiles);
        server.close(() => done());
        server.closeIdleConnections();
      }).then(() => queue.then(() => {}));
      return closing;
    },
  };
}

/** A push: rows and, optionally, the side outputs that go with them. */
interface PushBody {
  readonly topology: string;
  readonly targets: PushTarget[];
  readonly rows: FeatureRow[];
  readonly deadLetters: DeadLetterRecord[];
  readonly late: LateRecord[];
}

const isText = (v: unknown) => typeof v === 'string';
const isCount = (v: unknown) => Number.isSafeInteger(v);

/** The fields of a dead letter and of a late record, and what each must be. */
const DEAD_LETTER_FIELDS: Record<keyof DeadLetterRecord, (v: unknown) => boolean> = {
  source: isText,
  position: isCount,
  line: isCount,
  reason: isText,
  detail: isText,
  raw: isText,
};
const LATE_FIELDS: Record<keyof LateRecord, (v: unknown) => boolean> = {
  source: isText,
  position: isCount,
  line: isCount,
  window: isText,
  group: isText,
  eventTime: (v) => Number.isFinite(v),
  raw: isText,
};

/** `body[key]`, absent = [], each entry checked against `fields`; throws naming the bad entry. */
function records<T>(
  body: Record<string, unknown>,
  key: string,
  what: string,
  fields: Record<string, (v: unknown) => boolean>,
): T[] {
  const list = body[key];
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new Error(`"${key}" must be an array of ${what}s`);
  for (const e of list as unknown[]) {
    const o = e as Record<string, unknown> | null;
    const bad = o === null || typeof o !== 'object' ? '' : Object.keys(fields).find((f) => !fields[f]!(o[f]));
    if (bad !== undefined)
      throw new Error(`not a ${what}${bad === '' ? '' : ` ("${bad}")`}: ${JSON.stringify(e).slice(0, 200)}`);
  }
  return list as T[];
}

function parseBody(text: string): PushBody {
  const b = JSON.parse(text) as { topology?: unknown; targets?: unknown; rows?: unknown };
  if (typeof b.topology !== 'string' || b.topology === '') throw new Error('"topology" must be a name');
  if (
    !Array.isArray(b.targets) ||
    b.targets.length === 0 ||
    !b.targets.every((t) => t === 'online' || t === 'offline')
  )
    throw new Error('"targets" must list online and/or offline');
  if (!Array.isArray(b.rows)) throw new Error('"rows" must be an array of feature rows');
  for (const r of b.rows as Partial<FeatureRow>[]) {
    const ok =
      r !== null &&
      typeof r === 'object' &&
      typeof r.group === 'string' &&
      typeof r.entityType === 'string' &&
      typeof r.entityId === 'string' &&
      Number.isSafeInteger(r.version) &&
      Number.isFinite(r.eventTime) &&
      Number.isSafeInteger(r.revision) &&
      (r.windowStart === null || Number.isFinite(r.windowStart)) &&
      (r.windowEnd === null || Number.isFinite(r.windowEnd)) &&
      typeof r.values === 'object' &&
      r.values !== null &&
      Object.values(r.values).every((v) => v === null || Number.isFinite(v));
    if (!ok) throw new Error(`not a feature row: ${JSON.stringify(r).slice(0, 200)}`);
  }
  const raw = b as Record<string, unknown>;
  return {
    topology: b.topology,
    targets: b.targets as PushTarget[],
    rows: b.rows as FeatureRow[],
    deadLetters: records<DeadLetterRecord>(raw, 'deadLetters', 'dead letter', DEAD_LETTER_FIELDS),
    late: records<LateRecord>(raw, 'late', 'late record', LATE_FIELDS),
  };
}

function readAnnouncement(file: string): PushAnnouncement | null {
  try {
    const a = JSON.parse(readFileSync(file, 'utf8')) as Partial<PushAnnouncement>;
    return typeof a.pid === 'number' && typeof a.url === 'string' && typeof a.token === 'string'
      ? (a as PushAnnouncement)
      : null;
  } catch {
    return null;
  }
}

/**
 * The push address of the process that holds the store in `dir`: its announcement when the
 * directory's lock names the same process and that process is alive, else null (the store is
 * free, or held by something that takes no pushes, e.g. a `run`).
 */
export function findPushEndpoint(dir: string): PushAnnouncement | null {
  const file = join(resolve(dir), PUSH_FILE);
  if (!existsSync(file)) return null;
  const a = readAnnouncement(file);
  const lock = readLock(dir);
  if (a === null || lock === null || lock.pid !== a.pid) return null;
  try {
    process.kill(a.pid, 0);
  } catch {
    return null;
  }
  return a;
}

/**
 * A {@link RowSink} that sends rows, dead letters and late records to a running `serve`'s push
 * path: each write is one `POST /push` that resolves once what it carried is durable there, so
 * `flush` has nothing left to do.
 */
export class PushSink implements RowSink {
  readonly name: string;

  constructor(
    private readonly endpoint: PushAnnouncement,
    private readonly topology: string,
    private readonly targets: readonly PushTarget[],
  ) {
    this.name = `push:serve pid ${endpoint.pid}`;
  }

  async write(rows: readonly FeatureRow[]): Promise<void> {
    if (rows.length > 0) await this.push({ rows }, 'rows');
  }

  async writeDeadLetters(entries: readonly DeadLetterRecord[]): Promise<void> {
    if (entries.length > 0) await this.push({ rows: [], deadLetters: entries }, 'dead letters');
  }

  async writeLate(entries: readonly LateRecord[]): Promise<void> {
    if (entries.length > 0) await this.push({ rows: [], late: entries }, 'late records');
  }

  private async push(parts: Record<string, readonly unknown[]>, what: string): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.endpoint.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.endpoint.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topology: this.topology, targets: this.targets, ...parts }),
      });
    } catch (err) {
      throw new ExternalError(
        `the embedded stores' holder, featurestream serve pid ${this.endpoint.pid}, did not take the ${what} at ${this.endpoint.url}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      throw new ExternalError(
        `featurestream serve pid ${this.endpoint.pid} refused the ${what} (${res.status}): ${text.slice(0, 300)}`,
        { retryable: res.status >= 500 },
      );
    }
    await res.arrayBuffer();
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
