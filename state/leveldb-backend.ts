import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { ExternalError, FeaturestreamError, InternalError } from '../src/shared/errors.js';
import type { BatchOp, StateBackend } from './backend.js';
import { assertWellFormed, validateBatch } from './validate-batch.js';

export interface LevelDbBackendOptions {
  /**
   * Whether each batch waits for the write to reach the disk (fsync) before resolving.
   * Default true: a checkpoint acknowledged to the coordinator must survive a machine crash,
   * not only a process crash.
   */
  readonly sync?: boolean;
}

// 0xFF never occurs in UTF-8, so `prefix bytes + 0xFF` is an exclusive upper bound for every
// key that starts with prefix. (`prefix + '\uffff'` is not: U+FFFF encodes as EF BF BF, below
// the F0 lead byte of characters outside the BMP such as emoji.)
const AFTER_ANY_UTF8 = Buffer.from([0xff]);

/**
 * A {@link StateBackend} over LevelDB (classic-level), keys and values stored as UTF-8.
 * Each `batch` is one LevelDB write batch, so it is atomic across crashes. I/O failures are
 * raised as {@link ExternalError} naming the location.
 *
 * @example
 * const db = new LevelDbBackend('.featurestream/shard-0');
 * await db.open(); // creates the folder if needed
 * await db.batch([{ type: 'put', key: 's:a', value: '1' }]);
 * for await (const [k, v] of db.entries('s:')) console.log(k, v);
 * await db.close();
 */
export class LevelDbBackend implements StateBackend {
  readonly kind = 'leveldb' as const;
  readonly location: string;
  readonly #sync: boolean;
  #db: ClassicLevel<string, string> | undefined;

  constructor(location: string, options: LevelDbBackendOptions = {}) {
    if (typeof location !== 'string' || location === '') {
      throw new InternalError('LevelDbBackend needs a non-empty location', { field: 'location' });
    }
    this.location = location;
    this.#sync = options.sync ?? true;
  }

  async open(): Promise<void> {
    if (this.#db !== undefined) return;
    try {
      await mkdir(this.location, { recursive: true });
      const db = new ClassicLevel<string, string>(this.location, {
        keyEncoding: 'utf8',
        valueEncoding: 'utf8',
      });
      await db.open();
      this.#db = db;
    } catch (err) {
      throw this.#wrap('open', err);
    }
  }

  async get(key: string): Promise<string | undefined> {
    const db = this.#requireOpen();
    assertWellFormed(key, 'key');
    try {
      return await db.get(key);
    } catch (err) {
      throw this.#wrap('get', err);
    }
  }

  async batch(ops: readonly BatchOp[]): Promise<void> {
    const db = this.#requireOpen();
    validateBatch(ops);
    if (ops.length === 0) return;
    try {
      await db.batch(
        ops.map((op) =>
          op.type === 'put'
            ? { type: 'put' as const, key: op.key, value: op.value }
            : { type: 'del' as const, key: op.key },
        ),
        { sync: this.#sync },
      );
    } catch (err) {
      throw this.#wrap('batch', err);
    }
  }

  async *entries(prefix: string): AsyncIterable<readonly [string, string]> {
    const db = this.#requireOpen();
    assertWellFormed(prefix, 'prefix');
    const start = Buffer.from(prefix, 'utf8');
    let it: ReturnType<typeof db.iterator<Buffer, string>>;
    try {
      it = db.iterator<Buffer, string>({
        keyEncoding: 'buffer',
        valueEncoding: 'utf8',
        gte: start,
        lt: Buffer.concat([start, AFTER_ANY_UTF8]),
      });
    } catch (err) {
      throw this.#wrap('iterate', err);
    }
    try {
      while (true) {
        let entry: [Buffer, string] | undefined;
        try {
          entry = await it.next();
        } catch (err) {
          throw this.#wrap('iterate', err);
        }
        if (entry === undefined) return;
        yield [entry[0].toString('utf8'), entry[1]] as const;
      }
    } finally {
      await it.close();
    }
  }

  async close(): Promise<void> {
    const db = this.#db;
    if (db === undefined) return;
    this.#db = undefined;
    try {
      await db.close();
    } catch (err) {
      throw this.#wrap('close', err);
    }
  }

  #requireOpen(): ClassicLevel<string, string> {
    if (this.#db === undefined) {
      throw new InternalError(`LevelDbBackend at ${this.location} used while not open: call open() first`);
    }
    return this.#db;
  }

  #wrap(operation: string, err: unknown): FeaturestreamError {
    if (err instanceof FeaturestreamError) return err;
    const e = (typeof err === 'object' && err !== null ? err : {}) as {
      code?: unknown;
      cause?: { code?: unknown };
    };
    const code = e.code;
    const causeCode = e.cause?.code;
    const detail = [err instanceof Error ? err.message : String(err), code, causeCode]
      .filter((x) => typeof x === 'string' && x !== '')
      .join(', ');
    return new ExternalError(`LevelDB ${operation} failed at ${this.location}: ${detail}`, {
      field: 'location',
      cause: err,
    });
  }
}
