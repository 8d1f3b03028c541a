import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support.js';
import { ConfigError } from '../shared/errors.js';
import { onlineRow } from '../stores/online-conformance.js';
import { EmbeddedOnlineStore } from '../stores/online-leveldb.js';
import { deferredSinks } from './deferred-sinks.js';
import { openSinks } from '../stores/open-sinks.js';
import { featureSetOf } from '../registry/feature-set.js';

const logger = pino({ level: 'silent' });

describe('deferredSinks', () => {
  it('takes writes while the stores open and delivers them once they are open', async () => {
    const dir = join(tempDir('fs-deferred-'), 'online');
    const sink = deferredSinks(
      openSinks(`embedded:${dir}`, undefined, 'llm-features', logger, featureSetOf()),
      'stores',
    );
    // Called at once, before the store is open: both wait for it and land.
    const first = sink.write([onlineRow({ values: { latency_p95_5min: 1 } })]);
    const second = sink.write([onlineRow({ revision: 1, values: { latency_p95_5min: 2 } })]);
    await Promise.all([first, second]);
    await sink.flush();
    await sink.close();
    const store = await EmbeddedOnlineStore.open(dir);
    try {
      expect((await store.read('model', 'gpt-4', 'perf_5min', 1))?.values).toEqual({ latency_p95_5min: 2 });
    } finally {
      await store.close();
    }
  }, 30_000);

  it('a store that fails to open fails the first write and the flush with its error; close still resolves', async () => {
    const sink = deferredSinks(
      openSinks('bogus://nowhere', undefined, 'llm-features', logger, featureSetOf()),
      'stores',
    );
    const err = await sink.write([onlineRow()]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/--online/);
    await expect(sink.flush()).rejects.toBeInstanceOf(ConfigError);
    await expect(sink.close()).resolves.toBeUndefined();
  });
});
