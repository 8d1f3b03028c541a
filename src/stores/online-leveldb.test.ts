import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ExternalError } from '../shared/errors.js';
import { onlineRow, runOnlineConformance } from './online-conformance.js';
import { EmbeddedOnlineStore } from './online-leveldb.js';
import { openOnlineStore, parseOnlineSpec } from './online-store.js';

runOnlineConformance('embedded (LevelDB)', async (config) => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-h5-online-'));
  let store = await EmbeddedOnlineStore.open(dir, config);
  return {
    store,
    reopen: async () => {
      await store.close();
      store = await EmbeddedOnlineStore.open(dir, config);
      return store;
    },
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('EmbeddedOnlineStore', () => {
  it('has one opener at a time: a second open fails until the first closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-h5-online-'));
    try {
      const a = await openOnlineStore(`embedded:${dir}`);
      await a.writeRows([onlineRow({ values: { n: 5 } })]);
      const err = await EmbeddedOnlineStore.open(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExternalError);
      expect((err as Error).message).toMatch(/--online: .*one opener at a time/);
      await a.close();
      const b = await EmbeddedOnlineStore.open(dir);
      expect((await b.read('model', 'gpt-4', 'perf_5min', 1))!.values).toEqual({ n: 5 });
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('purges expired records on open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-h5-online-'));
    let now = 1_000_000;
    try {
      const a = await EmbeddedOnlineStore.open(dir, { ttlSecondsByGroup: { fast: 10 }, now: () => now });
      await a.writeRows([onlineRow({ group: 'fast' }), onlineRow({ group: 'slow' })]);
      await a.close();
      now += 10_000; // exactly the TTL: expired
      const b = await EmbeddedOnlineStore.open(dir, { ttlSecondsByGroup: { fast: 10 }, now: () => now });
      expect(await b.read('model', 'gpt-4', 'fast', 1)).toBeNull();
      expect(await b.purgeExpired()).toBe(0); // already purged by open
      expect(await b.read('model', 'gpt-4', 'slow', 1)).not.toBeNull();
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseOnlineSpec', () => {
  it('accepts redis URLs, embedded and embedded:DIR', () => {
    expect(parseOnlineSpec('redis://127.0.0.1:6379/2')).toEqual({
      kind: 'redis',
      url: 'redis://127.0.0.1:6379/2',
    });
    expect(parseOnlineSpec('embedded')).toMatchObject({ kind: 'embedded' });
    expect(parseOnlineSpec('embedded:/tmp/o')).toEqual({ kind: 'embedded', dir: '/tmp/o' });
  });

  it.each(['http://x', 'redis://', 'redis://h:0', 'redis://h/db', 'embedded:', 'leveldb'])(
    'rejects %j with a ConfigError naming --online',
    (spec) => {
      let err: unknown;
      try {
        parseOnlineSpec(spec);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe('--online');
    },
  );
});
