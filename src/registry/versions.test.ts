import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../shared/errors.js';
import { assignVersion } from './rollout.js';
import { registryTestEngines, type TestStore } from './test-engines.js';
import {
  getRollout,
  listGroupVersions,
  registerGroupVersion,
  setGroupVersionStatus,
  setRollout,
} from './versions.js';

const engines = registryTestEngines();

for (const engine of engines) {
  describe(`group versions and rollouts (${engine.name})`, () => {
    let t: TestStore | null = null;
    const fresh = async () => {
      t = await engine.fresh();
      return t.store.client;
    };
    afterEach(async () => {
      await t?.drop();
      t = null;
    });

    it('registers versions idempotently and lists them', async () => {
      const client = await fresh();
      const v1 = await registerGroupVersion(client, {
        group: 'perf_5min',
        version: 1,
        topology: 'llm-features',
      });
      expect(v1).toMatchObject({
        group: 'perf_5min',
        version: 1,
        topology: 'llm-features',
        status: 'active',
        created: true,
      });
      const again = await registerGroupVersion(client, { group: 'perf_5min', version: 1, topology: 'other' });
      expect(again).toMatchObject({ topology: 'llm-features', created: false, createdAt: v1.createdAt });
      await registerGroupVersion(client, {
        group: 'perf_5min',
        version: 2,
        topology: 'llm-features-v2',
        status: 'shadow',
      });
      await registerGroupVersion(client, { group: 'perf_1hr', version: 1, topology: 'llm-features' });
      expect(
        (await listGroupVersions(client, 'perf_5min')).map((v) => [v.version, v.topology, v.status]),
      ).toEqual([
        [1, 'llm-features', 'active'],
        [2, 'llm-features-v2', 'shadow'],
      ]);
      expect((await listGroupVersions(client)).map((v) => `${v.group}:${v.version}`)).toEqual([
        'perf_1hr:1',
        'perf_5min:1',
        'perf_5min:2',
      ]);
      await setGroupVersionStatus(client, 'perf_5min', 2, 'active');
      expect((await listGroupVersions(client, 'perf_5min'))[1]!.status).toBe('active');
      await expect(setGroupVersionStatus(client, 'perf_5min', 9, 'retired')).rejects.toBeInstanceOf(
        ConfigError,
      );
      await expect(
        registerGroupVersion(client, { group: 'perf_5min', version: 0, topology: 'x' }),
      ).rejects.toBeInstanceOf(ConfigError);
    });

    it('sets, reads back in order and replaces a rollout', async () => {
      const client = await fresh();
      for (const version of [1, 2, 3]) {
        await registerGroupVersion(client, { group: 'perf_5min', version, topology: 'llm-features' });
      }
      expect(await getRollout(client, 'perf_5min')).toEqual([]);
      await setRollout(client, 'perf_5min', [
        { version: 2, share: 0.1 },
        { version: 1, share: 0.9 },
      ]);
      const rollout = await getRollout(client, 'perf_5min');
      expect(rollout).toEqual([
        { version: 2, share: 0.1 },
        { version: 1, share: 0.9 },
      ]);
      // What serving does with it: a stable assignment.
      expect([1, 2]).toContain(assignVersion('user-42', rollout));
      await setRollout(client, 'perf_5min', [
        { version: 1, share: 0.7 },
        { version: 2, share: 0.2 },
        { version: 3, share: 0.1 },
      ]);
      expect((await getRollout(client, 'perf_5min')).map((a) => a.version)).toEqual([1, 2, 3]);
    });

    it.each([
      ['no arms', []],
      [
        'a share of 0',
        [
          { version: 1, share: 0 },
          { version: 2, share: 1 },
        ],
      ],
      ['a share above 1', [{ version: 1, share: 1.5 }]],
      [
        'shares summing to 0.9',
        [
          { version: 1, share: 0.5 },
          { version: 2, share: 0.4 },
        ],
      ],
      [
        'a version twice',
        [
          { version: 1, share: 0.5 },
          { version: 1, share: 0.5 },
        ],
      ],
      [
        'an unregistered version',
        [
          { version: 1, share: 0.5 },
          { version: 7, share: 0.5 },
        ],
      ],
      [
        'a retired version',
        [
          { version: 1, share: 0.5 },
          { version: 3, share: 0.5 },
        ],
      ],
    ])('rejects %s with a ConfigError and keeps the old rollout', async (_name, arms) => {
      const client = await fresh();
      for (const version of [1, 2, 3]) {
        await registerGroupVersion(client, { group: 'perf_5min', version, topology: 'llm-features' });
      }
      await setGroupVersionStatus(client, 'perf_5min', 3, 'retired');
      await setRollout(client, 'perf_5min', [{ version: 1, share: 1 }]);
      await expect(setRollout(client, 'perf_5min', arms)).rejects.toBeInstanceOf(ConfigError);
      expect(await getRollout(client, 'perf_5min')).toEqual([{ version: 1, share: 1 }]);
    });
  });
}
