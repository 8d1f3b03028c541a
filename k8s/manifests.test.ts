/**
 * The Kubernetes manifests: every document parses (the `yaml` package) and validates against the
 * Kubernetes schemas (`kubernetes-models`, `@kubernetes-models/keda` for the ScaledObject), and
 * the pieces fit together — workloads have probes and requests/limits, selectors match pod
 * labels, references point at objects that exist, the KEDA trigger watches the group and topic
 * the consumers use, and every `run` flag the consumers pass is one the Kafka runner knows.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const DIR = new URL('./', import.meta.url).pathname;
const ROOT = new URL('../', import.meta.url).pathname;

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML
type Doc = Record<string, any>;

interface Manifest {
  readonly file: string;
  readonly doc: Doc;
}

const VALIDATORS: Record<string, (d: Doc) => { validate(): void }> = {
  'v1/ConfigMap': (d) => new ConfigMap(d as never),
  'v1/Service': (d) => new Service(d as never),
  'apps/v1/Deployment': (d) => new Deployment(d as never),
  'apps/v1/StatefulSet': (d) => new StatefulSet(d as never),
  'policy/v1/PodDisruptionBudget': (d) => new PodDisruptionBudget(d as never),
  'autoscaling/v2/HorizontalPodAutoscaler': (d) => new HorizontalPodAutoscaler(d as never),
  'keda.sh/v1alpha1/ScaledObject': (d) => new ScaledObject(d as never),
};

function load(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(DIR).sort()) {
    if (!file.endsWith('.yaml') || file === 'kustomization.yaml') continue;
    for (const d of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
      const doc = d.toJS() as Doc | null;
      if (doc !== null) out.push({ file, doc });
    }
  }
  return out;
}

const manifests = load();
const byKind = (kind: string) => manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);
const workloads = [...byKind('Deployment'), ...byKind('StatefulSet')];
const configMap = byKind('ConfigMap')[0]!;

function validate(doc: Doc): void {
  const make = VALIDATORS[`${doc.apiVersion}/${doc.kind}`];
  if (make === undefined) throw new Error(`no validator for ${doc.apiVersion} ${doc.kind}`);
  make(doc).validate();
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('k8s manifests', () => {
  it('hold every object the deployment needs', () => {
    const kinds = manifests.map((m) => `${m.doc.kind}/${m.doc.metadata.name}`).sort();
    expect(kinds).toEqual(
      expect.arrayContaining([
        'ConfigMap/featurestream-config',
        'Deployment/featurestream-consumer',
        'StatefulSet/featurestream-consumer',
        'Deployment/featurestream-serving',
        'Service/featurestream-serving',
        'HorizontalPodAutoscaler/featurestream-serving',
        'PodDisruptionBudget/featurestream-consumer',
        'PodDisruptionBudget/featurestream-serving',
        'ScaledObject/featurestream-consumer',
      ]),
    );
  });

  it.each(manifests.map((m) => [`${m.file}: ${m.doc.kind} ${m.doc.metadata?.name}`, m.doc] as const))(
    'validate against the Kubernetes schema: %s',
    (_name, doc) => {
      expect(() => validate(doc)).not.toThrow();
    },
  );

  it('the validation catches a broken manifest', () => {
    const broken = structuredClone(byKind('Deployment')[0]!);
    broken.spec.replicas = 'three';
    expect(() => validate(broken)).toThrow();
    const noImage = structuredClone(byKind('Deployment')[0]!);
    noImage.spec.template.spec.containers[0].name = undefined;
    expect(() => validate(noImage)).toThrow();
    const badScaler = structuredClone(byKind('ScaledObject')[0]!);
    badScaler.spec.minReplicaCount = 'one';
    expect(() => validate(badScaler)).toThrow();
  });

  it.each(workloads.map((w) => [`${w.kind} ${w.metadata.name}`, w] as const))(
    '%s: probes, requests and limits, selector matching its pods',
    (_name, w) => {
      expect(matches(w.spec.selector.matchLabels, w.spec.template.metadata.labels)).toBe(true);
      for (const c of w.spec.template.spec.containers) {
        expect(c.livenessProbe?.httpGet?.path, `${c.name} liveness`).toBe('/healthz');
        expect(c.readinessProbe?.httpGet?.path, `${c.name} readiness`).toBe('/readyz');
        const ports = new Set((c.ports ?? []).map((p: Doc) => p.name));
        expect(ports.has(c.livenessProbe.httpGet.port)).toBe(true);
        for (const k of ['cpu', 'memory']) {
          expect(c.resources?.requests?.[k], `${c.name} requests.${k}`).toBeDefined();
          expect(c.resources?.limits?.[k], `${c.name} limits.${k}`).toBeDefined();
        }
        // Every $(VAR) in the args comes from the ConfigMap or an env entry; secrets by reference.
        const env = new Set([...Object.keys(configMap.data), ...(c.env ?? []).map((e: Doc) => e.name)]);
        for (const a of c.args as string[])
          for (const m of a.matchAll(/\$\(([A-Z_]+)\)/g)) expect(env.has(m[1]!), m[1]).toBe(true);
        for (const e of c.env ?? []) {
          if (e.valueFrom?.secretKeyRef !== undefined)
            expect(e.valueFrom.secretKeyRef.name).toBe('featurestream-secrets');
        }
        for (const f of c.envFrom ?? []) expect(f.configMapRef.name).toBe(configMap.metadata.name);
      }
    },
  );

  it('consumers pass only flags the Kafka runner knows, and stop gracefully within the grace period', () => {
    // The flags of the real CLI's `run` (file and Kafka flags), as its --help lists them.
    const help = execFileSync(process.execPath, [join(ROOT, 'bin/featurestream.js'), 'run', '--help'], {
      encoding: 'utf8',
    });
    const known = new Set([...help.matchAll(/^\s+(--[a-z][a-z-]*)/gm)].map((m) => m[1]!));
    expect(known.has('--kafka')).toBe(true);
    for (const w of workloads.filter((x) => x.metadata.name === 'featurestream-consumer')) {
      const args = w.spec.template.spec.containers[0].args as string[];
      expect(args[0]).toBe('run');
      for (const a of args) if (a.startsWith('--')) expect(known.has(a), a).toBe(true);
      for (const required of ['--kafka', '--topic', '--group', '--state-dir', '--metrics-port']) {
        expect(args).toContain(required);
      }
      expect(w.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
    }
  });

  it('the KEDA trigger watches the consumers’ group and topic and scales no further than the shards', () => {
    const so = byKind('ScaledObject')[0]!;
    const target = byKind('Deployment').find((d) => d.metadata.name === so.spec.scaleTargetRef.name);
    expect(target).toBeDefined();
    const kafka = so.spec.triggers.find((t: Doc) => t.type === 'kafka');
    expect(kafka.metadata.consumerGroup).toBe(configMap.data.KAFKA_GROUP);
    expect(kafka.metadata.topic).toBe(configMap.data.KAFKA_TOPIC);
    expect(kafka.metadata.bootstrapServers).toBe(configMap.data.KAFKA_BROKERS);
    expect(so.spec.maxReplicaCount).toBe(Number(configMap.data.SHARDS));
  });

  it('the HPA, Services and PodDisruptionBudgets point at what exists', () => {
    const pods = workloads.map((w) => w.spec.template.metadata.labels as Record<string, string>);
    for (const hpa of byKind('HorizontalPodAutoscaler')) {
      const t = workloads.find(
        (w) => w.kind === hpa.spec.scaleTargetRef.kind && w.metadata.name === hpa.spec.scaleTargetRef.name,
      );
      expect(t, hpa.metadata.name).toBeDefined();
    }
    for (const pdb of byKind('PodDisruptionBudget')) {
      expect(
        pods.some((l) => matches(pdb.spec.selector.matchLabels, l)),
        pdb.metadata.name,
      ).toBe(true);
    }
    for (const svc of byKind('Service')) {
      const selected = workloads.filter((w) => matches(svc.spec.selector, w.spec.template.metadata.labels));
      expect(selected.length, svc.metadata.name).toBeGreaterThan(0);
      const portNames = new Set(
        selected.flatMap((w) =>
          w.spec.template.spec.containers.flatMap((c: Doc) => (c.ports ?? []).map((p: Doc) => p.name)),
        ),
      );
      for (const p of svc.spec.ports)
        expect(portNames.has(p.targetPort), `${svc.metadata.name} ${p.targetPort}`).toBe(true);
    }
  });

  it('kustomization.yaml lists files that exist', () => {
    const k = parseAllDocuments(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as Doc;
    const files = new Set(readdirSync(DIR));
    for (const r of k.resources as string[]) expect(files.has(r), r).toBe(true);
  });

  it('secrets reach the pods as env from the Secret, referenced by the mounted configuration file, never in args', () => {
    const file = byKind('ConfigMap').find((c) => c.metadata.name === 'featurestream-file')!;
    const text = file.data['featurestream.yaml'] as string;
    for (const w of workloads) {
      const spec = w.spec.template.spec;
      const c = spec.containers[0];
      const secretEnv = (c.env ?? [])
        .filter((e: Doc) => e.valueFrom?.secretKeyRef !== undefined)
        .map((e: Doc) => e.name as string);
      expect(secretEnv, w.metadata.name).toEqual(expect.arrayContaining(['ONLINE_URL', 'OFFLINE_URL']));
      for (const name of secretEnv) {
        for (const a of c.args as string[]) expect(a, `${w.metadata.name} args`).not.toContain(`$(${name})`);
      }
      for (const name of ['ONLINE_URL', 'OFFLINE_URL']) expect(text).toContain(`\${${name}}`);
      const args = c.args as string[];
      const path = args[args.indexOf('--config') + 1]!;
      const mount = c.volumeMounts.find((m: Doc) => path.startsWith(`${m.mountPath}/`));
      expect(mount, `${w.metadata.name}: ${path} is mounted`).toBeDefined();
      const volume = spec.volumes.find((v: Doc) => v.name === mount.name);
      expect(volume.configMap.name).toBe('featurestream-file');
    }
    // The file is one the command line reads: secrets from the environment, redacted when shown.
    const dir = mkdtempSync(join(tmpdir(), 'fs-k8s-'));
    writeFileSync(join(dir, 'featurestream.yaml'), text);
    const shown = execFileSync(
      process.execPath,
      [
        join(ROOT, 'bin/featurestream.js'),
        'config',
        'show',
        '--config',
        join(dir, 'featurestream.yaml'),
        '--command',
        'serve',
      ],
      {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          ONLINE_URL: 'redis://:k8s-online-pw@redis:6379/0',
          OFFLINE_URL: 'postgres://featurestream:k8s-offline-pw@postgres:5432/features',
        },
      },
    );
    expect(shown).toMatch(
      /^online\.url\s+redis:\/\/:\*\*\*@redis:6379\/0\s+\(.*featurestream\.yaml: online\.url\)$/m,
    );
    expect(shown).not.toContain('k8s-online-pw');
    expect(shown).not.toContain('k8s-offline-pw');
  });
});
