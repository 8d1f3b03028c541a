/**
 * The k8s/ manifests under `podman kube play --network host` (issue 28), rendered by kustomize
 * and adapted as test/container/kube.ts describes (and docs/deploy.md lists):
 *
 * - the serving Deployment's pod, on a read-only root as the manifest says, passes its liveness
 *   and readiness probes (polled here at the paths and ports the manifest names: kube play turns
 *   probes into curl healthchecks, and the image has no curl), answers a feature read from Redis
 *   and PostgreSQL with the bearer token, and stops on SIGTERM with exit 0;
 * - two pods of the consumer Deployment, played one after the other, join the same consumer group
 *   on the test broker and split the source topic's partitions between them; each becomes ready
 *   through its probes and stops on SIGTERM with exit 0.
 *
 * The StatefulSet variant is not played (podman 4.3 plays Pod, Deployment, ConfigMap and PVC
 * only): k8s/manifests.test.ts checks it by kustomize and schema validation.
 */
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/shared/free-port.js';
import { PrivateRedis } from '../../src/stores/private-redis.js';
import { comparisonLines, startBrokerWithEvents, type TestBroker } from '../kafka/broker.js';
import { dropSchema, PG_URL, uniqueName as schemaName } from '../stores-support.js';
import { ROOT, runCli, tempDir, newestRowOfFirstEntity } from '../support.js';
import { parseAllDocuments } from 'yaml';
import { type Doc, type Playable, playable, renderKustomization, renderWithoutKubectl } from './kube.js';
import {
  buildTestImage,
  podman,
  podmanAsync,
  skipContainers,
  type TestImage,
  uniqueName,
  until,
} from './support.js';

const skip = skipContainers('kube play tests');

describe.skipIf(skip)('podman kube play of the k8s/ manifests', () => {
  let img: TestImage;
  let docs: Doc[];
  let dir: string;
  let redis: PrivateRedis;
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
  const schema = schemaName('fs_kube');
  const offline = `${PG_URL}?schema=${schema}`;
  const played: Array<{ file: string; p: Playable }> = [];

  /** Plays one adapted Deployment; remembered for clean-up. */
  const play = (p: Playable) => {
    const file = join(dir, `${p.pod}.yaml`);
    writeFileSync(file, p.yaml);
    played.push({ file, p });
    const r = podman(['kube', 'play', '--network', 'host', file], 180_000);
    expect(r.code, r.stderr).toBe(0);
  };
  /** Waits until every HTTP probe of the pod answers 2xx, as the kubelet would require. */
  const probesPass = (p: Playable, timeoutMs: number) =>
    until(`${p.pod}'s probes`, timeoutMs, async () => {
      for (const probe of p.probes) {
        const res = await fetch(`http://127.0.0.1:${probe.port}${probe.path}`);
        if (!res.ok) return undefined;
      }
      return true;
    });
  /** SIGTERM to the pod's containers (podman pod stop, grace period 60 s); the container's exit code. */
  const stopPod = async (p: Playable) => {
    const r = await podmanAsync(['pod', 'stop', '-t', '60', p.pod], 120_000);
    expect(r.code, r.stderr).toBe(0);
    return podman(['inspect', '--format', '{{.State.ExitCode}}', p.container]).stdout.trim();
  };

  beforeAll(async () => {
    dir = tempDir('fs-kube-');
    chmodSync(dir, 0o777);
    docs = renderKustomization(join(ROOT, 'k8s'));
    redis = await PrivateRedis.start();
    img = buildTestImage('fs-kube');
  }, 600_000);

  afterAll(async () => {
    for (const { file, p } of played.reverse()) {
      podman(['kube', 'play', '--down', file], 120_000);
      for (const v of p.volumes) podman(['volume', 'rm', '--force', v]);
    }
    img?.remove();
    await redis?.stop();
    await dropSchema(pool, schema);
    await pool.end();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('renders with kustomize into the objects kube play needs', () => {
    const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'ConfigMap/featurestream-config',
        'Deployment/featurestream-serving',
        'Deployment/featurestream-consumer',
      ]),
    );
  });

  it('renders the same objects without kubectl (the fallback for hosts without it)', () => {
    const fallback = parseAllDocuments(renderWithoutKubectl(join(ROOT, 'k8s'))).map((d) => d.toJS() as Doc);
    const key = (d: Doc) => `${d.kind}/${d.metadata.name}`;
    expect(fallback.map(key).sort()).toEqual(docs.map(key).sort());
    for (const d of docs)
      expect(
        fallback.find((f) => key(f) === key(d)),
        key(d),
      ).toEqual(d);
  });

  it('the serving pod becomes ready through its probes and serves a feature; SIGTERM → 0', async () => {
    // Rows in Redis and PostgreSQL, from a run on this host.
    const events = join(dir, 'events.ndjson');
    expect((await runCli(['generate', '--events', '3000', '--out', events])).code).toBe(0);
    const out = join(dir, 'rows.ndjson');
    const run = await runCli([
      'run',
      '--input',
      events,
      '--out',
      out,
      '--online',
      redis.url,
      '--offline',
      offline,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const newest = newestRowOfFirstEntity(out, 'perf_5min');
    const model = newest.entity_id;

    const token = uniqueName('token');
    const p = playable(docs, {
      deployment: 'featurestream-serving',
      name: uniqueName('fs-serving'),
      image: img.image,
      secrets: { 'online-url': redis.url, 'offline-url': offline, 'api-token': token },
      ports: { http: await freePort() },
    });
    expect(p.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(p.probes.map((x) => x.kind).sort()).toEqual(['livenessProbe', 'readinessProbe']);
    play(p);
    await probesPass(p, 90_000);
    const inspect = podman([
      'inspect',
      '--format',
      '{{.HostConfig.ReadonlyRootfs}} {{.Config.User}}',
      p.container,
    ]);
    expect(inspect.stdout.trim()).toBe('true 10001');
    const port = p.probes[0]!.port;
    const url = `http://127.0.0.1:${port}/features/model/${model}?features=latency_p95_5min`;
    expect((await fetch(url)).status).toBe(401);
    const read = (await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      features: Record<string, number>;
    };
    expect(read.features.latency_p95_5min).toBe(newest.values.latency_p95_5min);
    expect(await stopPod(p)).toBe('0');
  }, 300_000);

  describe('consumers', () => {
    let broker: TestBroker;
    const partitions = 4;
    beforeAll(async () => {
      broker = await startBrokerWithEvents(1, 'events', partitions, comparisonLines(4000, 5));
      await broker.apply('topic events-dlq 1');
      await broker.apply('topic rows 1');
    }, 120_000);
    afterAll(async () => {
      await broker?.stop();
    });

    /**
     * The source partitions a consumer pod holds now: its last "partitions assigned" log line
     * (the test broker answers no ListGroups / DescribeGroups to ask the group instead).
     */
    const held = (p: Playable): number[] | undefined => {
      const logs = podman(['logs', p.container]);
      const last = `${logs.stdout}\n${logs.stderr}`
        .split('\n')
        .filter((l) => l.includes('"partitions assigned"'))
        .at(-1);
      if (last === undefined) return undefined;
      return [...(JSON.parse(last) as { source: number[] }).source].sort((x, y) => x - y);
    };

    it('two consumer pods, played one at a time, join the group and split the partitions; SIGTERM → 0', async () => {
      const group = uniqueName('fs-kube-group');
      const consumer = async (tag: string) =>
        playable(docs, {
          deployment: 'featurestream-consumer',
          name: uniqueName(`fs-consumer-${tag}`),
          image: img.image,
          config: {
            KAFKA_BROKERS: broker.bootstrap,
            KAFKA_TOPIC: 'events',
            KAFKA_GROUP: group,
            SHARDS: String(partitions),
            CHECKPOINT_INTERVAL_MS: '1000',
            // Plain JSON events: the registry is never asked.
            SCHEMA_REGISTRY_URL: 'http://127.0.0.1:9',
            DEAD_LETTER_TOPIC: 'events-dlq',
            OUTPUT_TOPIC: 'rows',
          },
          secrets: { 'online-url': redis.url, 'offline-url': offline },
          ports: { metrics: await freePort() },
        });
      const a = await consumer('a');
      expect(a.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(a.volumes).toHaveLength(1);
      play(a);
      await probesPass(a, 120_000);
      await until('pod A to hold every partition', 120_000, async () =>
        held(a)?.length === partitions ? true : undefined,
      );
      const b = await consumer('b');
      play(b);
      const split = await until('the pods to split the partitions', 180_000, async () => {
        const [ha, hb] = [held(a), held(b)];
        if (ha === undefined || hb === undefined || ha.length === 0 || hb.length === 0) return undefined;
        return ha.length + hb.length === partitions ? [ha, hb] : undefined;
      });
      expect(
        split
          .flat()
          .sort((x, y) => x - y)
          .join(','),
      ).toBe([...Array(partitions).keys()].join(','));
      await probesPass(b, 180_000);
      expect(await stopPod(b)).toBe('0');
      expect(await stopPod(a)).toBe('0');
    }, 600_000);
  });
});
