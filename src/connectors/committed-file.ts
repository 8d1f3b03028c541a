import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * An append-only output file that commits with checkpoints. Lines are buffered and written in
 * large chunks; `commit()` flushes and fsyncs and returns the committed length, which the
 * coordinator stores in its checkpoint record. Reopened after a crash with that length, the file
 * is truncated back to it, so the rows written after the last checkpoint — which the restored
 * run produces again — are never there twice.
 *
 * @example
 * const out = CommittedFile.open('rows.ndjson', lastCheckpoint?.out ?? null);
 * out.append('{"group":"perf_5min"}\n');
 * const length = out.commit();
 */
export class CommittedFile {
  private pending: string[] = [];
  private pendingBytes = 0;
  private position: number;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    length: number,
  ) {
    this.position = length;
  }

  /** Opens `path`; `committedLength` null starts a new file (truncating any old one). */
  static open(path: string, committedLength: number | null): CommittedFile {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
    const length = committedLength ?? 0;
    ftruncateSync(fd, length);
    return new CommittedFile(path, fd, length);
  }

  append(text: string): void {
    this.pending.push(text);
    this.pendingBytes += text.length;
    if (this.pendingBytes >= 1 << 20) this.flush();
  }

  /** Writes buffered text to the file (not yet durable). */
  flush(): void {
    if (this.pending.length === 0) return;
    const buf = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingBytes = 0;
    let done = 0;
    try {
      while (done < buf.length)
        done += writeSync(this.fd, buf, done, buf.length - done, this.position + done);
    } catch (err) {
      // A full disk names the file (the error from writeSync does not).
      (err as NodeJS.ErrnoException).path ??= this.path;
      throw err;
    }
    this.position += buf.length;
  }

  /** Flushes and fsyncs; returns the committed length. */
  commit(): number {
    this.flush();
    fsyncSync(this.fd);
    return this.position;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
