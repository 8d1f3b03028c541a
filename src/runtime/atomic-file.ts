import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The one atomic write of a commit record (a file run's `checkpoint.json`, a Kafka shard's
 * `shard-N.kafka.json`): temp file, fsync, rename over the old one, fsync of the folder. A crash
 * leaves either the previous record or the new one, never a torn one.
 *
 * @example
 * writeFileAtomic(join(stateDir, 'checkpoint.json'), JSON.stringify(record));
 */
export function writeFileAtomic(path: string, body: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, body);
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  fsyncSync(dir);
  closeSync(dir);
}
