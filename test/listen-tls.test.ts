/**
 * `serve` and `ui` listen with TLS (`--tls-cert`, `--tls-key`): with a CA and a server
 * certificate for 127.0.0.1 the test makes with openssl, an HTTPS client that trusts the CA
 * reads `/healthz` and the topology page; a plain-HTTP request gets no answer; one flag without
 * the other exits 2 naming the missing one.
 */
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from './stores-support.js';
import { runCli, startCli, tempDir } from './support.js';
import { makePki } from './tls-support.js';

const dir = tempDir('fs-listen-tls-');
const pki = makePki(join(dir, 'pki'));
const tlsFlags = ['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey];

/** GET over HTTPS trusting the test CA: status and body. */
function httpsText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca: readFileSync(pki.ca) }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** A plain-HTTP GET: its status, or the error a TLS listener causes. */
function httpOutcome(url: string): Promise<string> {
  return new Promise((resolve) => {
    const req = httpGet(url, (res) => {
      res.resume();
      resolve(`status ${res.statusCode}`);
    });
    req.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
  });
}

/** Waits until `read()` matches `re` (the project's poll, test/stores-support.ts); returns the match. */
const matchOf = (read: () => string, re: RegExp): Promise<RegExpMatchArray> =>
  waitFor(`${re}`, () => read().match(re) ?? undefined, 30_000);

describe('serve and ui over TLS', () => {
  it('serve answers /healthz over HTTPS with the certificate, not over plain HTTP', async () => {
    let stderr = '';
    const child = startCli(['serve', '--port', '0', '--online', 'none', '--offline', 'none', ...tlsFlags]);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    try {
      const m = await matchOf(() => stderr, /"address":"(https:\/\/127\.0\.0\.1:\d+)"/);
      const base = m[1]!;
      const health = await httpsText(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await httpOutcome(base.replace('https:', 'http:') + '/healthz')).not.toBe('status 200');
    } finally {
      child.kill('SIGTERM');
      const r = await child.result;
      expect(r.code).toBe(0);
    }
  });

  it('ui serves the topology page over HTTPS', async () => {
    const child = startCli(['ui', '--port', '0', '--topology', 'llm-perf', ...tlsFlags]);
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    try {
      const m = await matchOf(() => stdout, /topology page: (https:\/\/127\.0\.0\.1:\d+)\//);
      const topology = await httpsText(`${m[1]!}/api/topology`);
      expect(topology.status).toBe(200);
      expect(JSON.parse(topology.body).name).toBe('llm-perf');
    } finally {
      child.kill('SIGTERM');
      await child.result;
    }
  });

  it('--tls-cert without --tls-key exits 2 naming --tls-key', async () => {
    const r = await runCli([
      'serve',
      '--port',
      '0',
      '--online',
      'none',
      '--offline',
      'none',
      '--tls-cert',
      pki.serverCert,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^featurestream: --tls-key: --tls-cert and --tls-key go together/m);
  });
});
