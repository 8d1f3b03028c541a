/**
 * Real TLS endpoints for tests: a CA and certificates made with `openssl`, a private redis-server
 * with TLS only (client certificates required, a password), and a private PostgreSQL cluster with
 * `ssl = on` accepting only TLS connections with a client certificate (`hostssl … clientcert=verify-ca`).
 * Both on free ports in a temporary directory; the shared Redis and PostgreSQL are not touched.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitForPort } from '../src/shared/free-port.js';

/** PEM files of a test PKI. */
export interface Pki {
  readonly dir: string;
  readonly ca: string;
  /** A CA that signed nothing here: trusting it instead of `ca` must fail. */
  readonly wrongCa: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

const openssl = (cwd: string, ...args: string[]) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

/**
 * A CA, a server certificate for 127.0.0.1 / localhost and a client certificate (CN `postgres`)
 * signed by it, and a second, unrelated CA.
 */
export function makePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  for (const name of ['ca', 'wrong-ca']) {
    openssl(
      dir,
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=featurestream test ${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
    );
  }
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, cn] of [
    ['server', 'localhost'],
    ['client', 'postgres'],
  ] as const) {
    openssl(
      dir,
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    );
    openssl(
      dir,
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    );
  }
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    wrongCa: join(dir, 'wrong-ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
}

/** A redis-server listening with TLS only (`--port 0 --tls-port P`), client certificates required. */
export class TlsRedis {
  private constructor(
    readonly port: number,
    private readonly proc: ChildProcess,
  ) {}

  static async start(pki: Pki, password: string): Promise<TlsRedis> {
    const port = await freePort();
    const proc = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--tls-cert-file',
        pki.serverCert,
        '--tls-key-file',
        pki.serverKey,
        '--tls-ca-cert-file',
        pki.ca,
        '--tls-auth-clients',
        'yes',
        '--requirepass',
        password,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    );
    await waitForPort(port, 'redis-server (TLS)');
    return new TlsRedis(port, proc);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      this.proc.once('exit', () => resolve());
      this.proc.kill('SIGKILL');
    });
  }
}

/** The newest installed PostgreSQL's bin directory (Debian: /usr/lib/postgresql/N/bin). */
function pgBin(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  const v = versions.find((x) => existsSync(join(base, x, 'bin', 'initdb')));
  if (v === undefined) throw new Error('no PostgreSQL server binaries in /usr/lib/postgresql/*/bin');
  return join(base, v, 'bin');
}

/** A private PostgreSQL cluster with `ssl = on`: TLS with a client certificate, or nothing. */
export class TlsPostgres {
  private constructor(
    readonly port: number,
    private readonly dataDir: string,
  ) {}

  static async start(pki: Pki, dir: string): Promise<TlsPostgres> {
    const port = await freePort();
    const data = join(dir, 'pgdata');
    const root = process.getuid?.() === 0;
    // initdb refuses root: as root, run the server as postgres, which must own its files.
    const asPg = (cmd: string, args: string[]) =>
      execFileSync(root ? 'runuser' : cmd, root ? ['-u', 'postgres', '--', cmd, ...args] : args, {
        stdio: 'pipe',
      });
    const keyDir = join(dir, 'pgtls');
    mkdirSync(keyDir, { recursive: true });
    mkdirSync(data, { recursive: true });
    chmodSync(dir, 0o755);
    chmodSync(data, 0o700);
    const files = {
      cert: join(keyDir, 'server.crt'),
      key: join(keyDir, 'server.key'),
      ca: join(keyDir, 'ca.crt'),
    };
    execFileSync('cp', [pki.serverCert, files.cert]);
    execFileSync('cp', [pki.serverKey, files.key]);
    execFileSync('cp', [pki.ca, files.ca]);
    chmodSync(files.key, 0o600);
    if (root) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      for (const p of [data, keyDir, files.cert, files.key, files.ca]) chownSync(p, uid, gid);
    }
    const bin = pgBin();
    asPg(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    writeFileSync(
      join(data, 'postgresql.conf'),
      [
        `port = ${port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${data}'`,
        'ssl = on',
        `ssl_cert_file = '${files.cert}'`,
        `ssl_key_file = '${files.key}'`,
        `ssl_ca_file = '${files.ca}'`,
        'fsync = off',
        'max_connections = 40',
        '',
      ].join('\n'),
      { flag: 'a' },
    );
    writeFileSync(
      join(data, 'pg_hba.conf'),
      [
        'local all all trust',
        'hostssl all all 127.0.0.1/32 trust clientcert=verify-ca',
        'host all all 127.0.0.1/32 reject',
        '',
      ].join('\n'),
    );
    asPg(join(bin, 'pg_ctl'), ['-D', data, '-l', join(data, 'server.log'), '-w', 'start']);
    await waitForPort(port, 'postgres (TLS)');
    return new TlsPostgres(port, data);
  }

  async stop(): Promise<void> {
    const root = process.getuid?.() === 0;
    const ctl = join(pgBin(), 'pg_ctl');
    const args = ['-D', this.dataDir, '-m', 'immediate', 'stop'];
    try {
      execFileSync(root ? 'runuser' : ctl, root ? ['-u', 'postgres', '--', ctl, ...args] : args, {
        stdio: 'pipe',
      });
    } catch {
      // already stopped
    }
  }
}
