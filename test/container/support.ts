/**
 * Helpers for the container tests: podman with a `containers.conf` of the tests' own (runc, and
 * default ulimits within this host's hard limits — crun refuses cgroup v1 hybrid hosts), a test
 * image built by `npm run image`'s script under unique names, and containers with unique names
 * that are removed afterwards.
 *
 * Where podman cannot run at all the tests skip with one line saying why, unless
 * FEATURESTREAM_REQUIRE_CONTAINERS=1 (CI on a machine that has podman), which makes that a failure.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support.js';

/** What podman needs on hosts like the test machine (see docs/deploy.md). */
export const CONTAINERS_CONF = `[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
`;

let env: NodeJS.ProcessEnv | null = null;

/** The environment for podman: CONTAINERS_CONF naming the tests' own containers.conf. */
export function podmanEnv(): NodeJS.ProcessEnv {
  if (env === null) {
    const dir = mkdtempSync(join(tmpdir(), 'fs-podman-'));
    writeFileSync(join(dir, 'containers.conf'), CONTAINERS_CONF);
    env = { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf') };
  }
  return env;
}

export interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `podman ARGS` to its end (bounded by `timeoutMs`). */
export function podman(args: readonly string[], timeoutMs = 120_000): Result {
  const r = spawnSync('podman', args, { env: podmanEnv(), encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error?.message || '') };
}

/** Runs `podman ARGS` without blocking the event loop; kills it after `timeoutMs`. */
export function podmanAsync(args: readonly string[], timeoutMs = 120_000): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn('podman', args, { env: podmanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `podman ARGS` in the background (e.g. `podman run` attached, to read its output). */
export function podmanStart(args: readonly string[]): ChildProcess {
  return spawn('podman', args, { env: podmanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Why podman cannot run containers here, or null when it can: podman on PATH, and `podman info`
 * succeeding with the tests' containers.conf.
 */
export function podmanUnavailable(): string | null {
  const which = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  if (which.error !== undefined || which.status !== 0)
    return 'podman is not installed (apt-get install podman buildah runc)';
  const info = podman(['info', '--format', '{{.Host.OCIRuntime.Name}}'], 60_000);
  if (info.code !== 0) return `podman info failed: ${info.stderr.trim().split('\n').at(-1)}`;
  return null;
}

/**
 * `describe.skipIf` condition for container tests: prints one line saying why when podman cannot
 * run; throws instead when FEATURESTREAM_REQUIRE_CONTAINERS=1.
 */
export function skipContainers(what: string): boolean {
  const reason = podmanUnavailable();
  if (reason === null) return false;
  if (process.env.FEATURESTREAM_REQUIRE_CONTAINERS === '1') {
    throw new Error(`${what}: podman cannot run (${reason}) and FEATURESTREAM_REQUIRE_CONTAINERS=1`);
  }
  console.warn(`${what} skipped: ${reason}`);
  return true;
}

/** A name unique to this process and call, for containers, images and pods. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

export interface TestImage {
  /** The app image (`localhost/fs-test-…:PID-…`). */
  readonly image: string;
  /** The scratch base it was built FROM. */
  readonly base: string;
  /** What `scripts/image.mjs --json` printed. */
  readonly built: Record<string, unknown>;
  /** Removes the app image and its base. */
  remove(): void;
}

/**
 * Builds the image the way `npm run image` does (scripts/image.mjs over the current build: run
 * `npm run build` first) under unique names: the scratch base, then the Containerfile FROM it.
 */
export function buildTestImage(prefix: string): TestImage {
  const name = uniqueName(prefix);
  const image = `localhost/${name}:test`;
  const base = `localhost/${name}-base:test`;
  const r = spawnSync(
    process.execPath,
    [
      join(ROOT, 'scripts/image.mjs'),
      '--no-build',
      '--no-default-tag',
      '--tag',
      image,
      '--base-tag',
      base,
      '--json',
    ],
    { env: podmanEnv(), encoding: 'utf8', timeout: 600_000, cwd: ROOT },
  );
  if (r.status !== 0) throw new Error(`image build failed (${r.status}): ${r.stderr}`);
  const built = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
  return {
    image,
    base,
    built,
    remove() {
      podman(['rmi', '-f', image]);
      podman(['rmi', '-f', base]);
    },
  };
}

/** Removes containers by name (ignores ones already gone). */
export function removeContainers(names: readonly string[]): void {
  if (names.length > 0) podman(['rm', '--ignore', '-f', '-t', '0', ...names]);
}

/** The package's version (the image's default tag and its version label). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Polls `check` every 200 ms until it returns something other than undefined, or throws. */
export async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
