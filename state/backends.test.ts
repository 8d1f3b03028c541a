import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, ExternalError } from '../src/shared/errors.js';
import { runBackendConformance } from './backend-conformance.js';
import { createBackend } from './create-backend.js';
import { LevelDbBackend } from './leveldb-backend.js';
import { MemoryBackend } from './memory-backend.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'featurestream-backends-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

runBackendConformance('memory', async () => {
  const data = new Map<string, string>();
  return { backend: new MemoryBackend(data), reopen: async () => new MemoryBackend(data) };
});

runBackendConformance('leveldb', async () => {
  // A nested, not yet existing folder: open() must create it.
  const location = path.join(fs.mkdtempSync(path.join(root, 'db-')), 'nested', 'shard-0');
  return { backend: new LevelDbBackend(location), reopen: async () => new LevelDbBackend(location) };
});

describe('createBackend', () => {
  it('creates the named kind', () => {
    expect(createBackend({ kind: 'memory' }).kind).toBe('memory');
    expect(createBackend({ kind: 'leveldb', location: path.join(root, 'x') }).kind).toBe('leveldb');
  });

  it('rejects an unknown kind or a missing location with a ConfigError naming the field', () => {
    expect(() => createBackend({ kind: 'redis' } as never)).toThrow(ConfigError);
    expect(() => createBackend({ kind: 'leveldb', location: '' })).toThrow(/state backend `location`/);
  });
});

describe('LevelDbBackend I/O failures', () => {
  it('a database locked by another handle fails to open with an ExternalError naming the location', async () => {
    const location = path.join(root, 'locked');
    const first = new LevelDbBackend(location);
    await first.open();
    try {
      const second = new LevelDbBackend(location);
      const err = await second.open().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ExternalError);
      expect((err as Error).message).toContain(location);
      expect((err as ExternalError).retryable).toBe(true);
    } finally {
      await first.close();
    }
  });

  it('a location that is a file fails to open with an ExternalError', async () => {
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, 'not a folder');
    await expect(new LevelDbBackend(path.join(file, 'db')).open()).rejects.toBeInstanceOf(ExternalError);
  });
});
