/**
 * The k8s/ manifests made playable by `podman kube play --network host` (podman 4.3) on a test
 * machine: rendered by `kubectl kustomize k8s/` (or, without kubectl, by applying
 * kustomization.yaml's `resources` and `images` the way k8s/manifests.test.ts reads the files),
 * then one Deployment adapted for what kube play does differently from Kubernetes — each change
 * is listed in docs/deploy.md ("podman kube play"):
 *
 * - `$(VAR)` in args is expanded here from the pod's env (kube play passes it literally);
 * - `secretKeyRef` env values are given as literal values (podman 4.3 plays no Secret);
 * - one replica per play, under a unique name (kube play starts `replicas` pods on one host);
 * - no `ports` (host networking: kube play refuses port mappings), listening on loopback on free
 *   ports: `--host 0.0.0.0` becomes 127.0.0.1, `--port` / `--metrics-port` the given ports;
 * - `emptyDir` volumes renamed uniquely (kube play makes them named volumes shared by name);
 * - the image replaced by the local test image.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML
export type Doc = Record<string, any>;

/** Renders a kustomization directory: `kubectl kustomize DIR`, or the fallback without kubectl. */
export function renderKustomization(dir: string): Doc[] {
  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  const text =
    kubectl.error === undefined && kubectl.status === 0
      ? execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })
      : renderWithoutKubectl(dir);
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

/** kustomization.yaml's `resources` (files) with its `images` applied, as one YAML stream. */
export function renderWithoutKubectl(dir: string): string {
  const k = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as Doc;
  for (const unsupported of ['configMapGenerator', 'secretGenerator', 'patches', 'components', 'namespace']) {
    if (k[unsupported] !== undefined)
      throw new Error(`kustomization.yaml uses ${unsupported}: install kubectl`);
  }
  const images = (k.images ?? []) as Array<{ name: string; newName?: string; newTag?: string }>;
  const docs: Doc[] = [];
  for (const file of k.resources as string[]) {
    for (const d of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const doc = d.toJS() as Doc | null;
      if (doc === null) continue;
      for (const c of doc.spec?.template?.spec?.containers ?? []) {
        const [name, tag] = String(c.image).split(/:(?=[^:/]+$)/);
        const rule = images.find((i) => i.name === name);
        if (rule !== undefined) c.image = `${rule.newName ?? name}:${rule.newTag ?? tag}`;
      }
      docs.push(doc);
    }
  }
  return docs.map((d) => stringify(d)).join('---\n');
}

export interface PlayOptions {
  /** The Deployment's name in the manifests. */
  readonly deployment: string;
  /** The name to play it under (unique per test). */
  readonly name: string;
  /** The local image replacing the manifests'. */
  readonly image: string;
  /** ConfigMap entries overriding the manifests' (broker addresses, topics, …). */
  readonly config?: Readonly<Record<string, string>>;
  /** Values of `secretKeyRef` env entries, by the secret's key. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Loopback ports for the container's named ports (`http`, `metrics`). */
  readonly ports: Readonly<Record<string, number>>;
}

export interface Playable {
  /** The ConfigMap and the Deployment, for `podman kube play`. */
  readonly yaml: string;
  /** The pod kube play creates (`NAME-pod-0`) and its container (`NAME-pod-0-CONTAINER`). */
  readonly pod: string;
  readonly container: string;
  /** The named volumes the emptyDirs become (remove them afterwards). */
  readonly volumes: string[];
  /** The container's args after `$(VAR)` expansion. */
  readonly args: string[];
  /** The HTTP probes (liveness, readiness, startup) with their ports resolved. */
  readonly probes: Array<{ kind: string; path: string; port: number }>;
  /** The container's securityContext in the manifests. */
  readonly securityContext: Doc;
}

const FLAG_PORTS: Record<string, string> = { '--port': 'http', '--metrics-port': 'metrics' };

/** One Deployment of the rendered manifests (with its ConfigMap) adapted for kube play. */
export function playable(docs: readonly Doc[], o: PlayOptions): Playable {
  const found = docs.find((d) => d.kind === 'Deployment' && d.metadata?.name === o.deployment);
  if (found === undefined) throw new Error(`no Deployment ${o.deployment} in the manifests`);
  const deployment = structuredClone(found);
  deployment.metadata.name = o.name;
  deployment.spec.replicas = 1;
  const pod = deployment.spec.template.spec as Doc;
  if (pod.containers.length !== 1) throw new Error(`${o.deployment}: expected one container`);
  const c = pod.containers[0] as Doc;
  c.image = o.image;
  c.imagePullPolicy = 'Never';

  const configDocs: Doc[] = [];
  const vars: Record<string, string> = {};
  for (const from of (c.envFrom ?? []) as Doc[]) {
    const ref = from.configMapRef?.name as string | undefined;
    const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata?.name === ref);
    if (ref === undefined || cm === undefined)
      throw new Error(`${o.deployment}: envFrom ${ref} not in the manifests`);
    const copy = structuredClone(cm);
    copy.metadata.name = `${o.name}-${ref}`;
    copy.data = { ...copy.data, ...o.config };
    from.configMapRef.name = copy.metadata.name;
    Object.assign(vars, copy.data);
    configDocs.push(copy);
  }
  // ConfigMaps mounted as volumes (the configuration file, `--config`): played beside the pod.
  for (const v of (pod.volumes ?? []) as Doc[]) {
    const ref = v.configMap?.name as string | undefined;
    if (ref === undefined) continue;
    const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata?.name === ref);
    if (cm === undefined) throw new Error(`${o.deployment}: volume ConfigMap ${ref} not in the manifests`);
    const copy = structuredClone(cm);
    copy.metadata.name = `${o.name}-${ref}`;
    v.configMap.name = copy.metadata.name;
    configDocs.push(copy);
  }
  for (const e of (c.env ?? []) as Doc[]) {
    const secret = e.valueFrom?.secretKeyRef as Doc | undefined;
    if (secret !== undefined) {
      const value = o.secrets?.[secret.key as string];
      if (value === undefined) throw new Error(`${o.deployment}: no value for secret key ${secret.key}`);
      delete e.valueFrom;
      e.value = value;
    }
    if (typeof e.value === 'string') vars[e.name as string] = e.value;
  }

  const named: Record<string, number> = {};
  for (const p of (c.ports ?? []) as Doc[]) {
    const port = o.ports[p.name as string];
    if (port === undefined) throw new Error(`${o.deployment}: no loopback port for ${p.name}`);
    named[p.name as string] = port;
  }
  delete c.ports;
  const args = ((c.args ?? []) as string[]).map((a) =>
    a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, v: string) => vars[v] ?? all),
  );
  for (let i = 0; i < args.length - 1; i++) {
    if (args[i] === '--host' && args[i + 1] === '0.0.0.0') args[i + 1] = '127.0.0.1';
    const portName = FLAG_PORTS[args[i]!];
    if (portName !== undefined && named[portName] !== undefined) args[i + 1] = String(named[portName]);
  }
  c.args = args;

  const probes: Playable['probes'] = [];
  for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const get = c[kind]?.httpGet as Doc | undefined;
    if (get === undefined) continue;
    const port = typeof get.port === 'number' ? get.port : named[get.port as string];
    if (port === undefined) throw new Error(`${o.deployment}: ${kind} names an unknown port ${get.port}`);
    get.port = port;
    probes.push({ kind, path: get.path as string, port });
  }

  const volumes: string[] = [];
  for (const v of (pod.volumes ?? []) as Doc[]) {
    if (v.emptyDir === undefined) continue;
    const renamed = `${o.name}-${v.name}`;
    for (const m of (c.volumeMounts ?? []) as Doc[]) if (m.name === v.name) m.name = renamed;
    v.name = renamed;
    volumes.push(renamed);
  }

  return {
    yaml: [...configDocs, deployment].map((d) => stringify(d)).join('---\n'),
    pod: `${o.name}-pod-0`,
    container: `${o.name}-pod-0-${c.name}`,
    volumes,
    args,
    probes,
    securityContext: c.securityContext ?? {},
  };
}
