/**
 * Kafka over TLS against the project's test broker. The broker (librdkafka's mock cluster) speaks
 * plaintext and advertises its own addresses, so it runs in a network namespace of its own
 * (`ip netns`), and outside it a TLS terminator listens on each advertised address
 * (127.0.0.1:PORT on the host), forwarding through a Unix socket (file system, shared by both
 * namespaces) to a `socat` inside the namespace that connects to the broker. A client outside sees
 * brokers that speak TLS only, at the addresses the metadata names.
 *
 * Needs root (network namespaces) and socat; without them the test is skipped, saying why.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server } from 'node:tls';
import { readFileSync } from 'node:fs';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support.js';
import { makePki, type Pki } from '../tls-support.js';
import {
  KAFKA_ENTRY,
  brokerBinary,
  collectorMessage,
  comparisonLines,
  folderLines,
  kafkaArgs,
  runnerSummary,
  startRunner,
  type TestBroker,
} from './broker.js';

const canNetns = (() => {
  if (process.getuid?.() !== 0) return 'not root: network namespaces need root';
  try {
    execFileSync('which', ['socat'], { stdio: 'pipe' });
  } catch {
    return 'socat is not installed';
  }
  const probe = `fs-probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `ip netns add failed: ${String(err)}`;
  }
})();

const NS = `fs-kafka-tls-${process.pid}`;
const dir = tempDir('fs-kafka-tls-');
const lines = comparisonLines(3000, 7);
let pki: Pki;
let brokerProc: ChildProcess | null = null;
const helpers: ChildProcess[] = [];
const terminators: Server[] = [];
let bootstrap = '';

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!check()) throw new Error(`${what} did not appear`);
}

beforeAll(async () => {
  if (canNetns !== null) return;
  pki = makePki(join(dir, 'pki'));
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
  brokerProc = spawn('ip', ['netns', 'exec', NS, brokerBinary(), '2', 'tls-events:4'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  bootstrap = await new Promise<string>((resolve, reject) => {
    let buf = '';
    brokerProc!.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl).trim());
    });
    brokerProc!.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
  });
  const tls = {
    cert: readFileSync(pki.serverCert),
    key: readFileSync(pki.serverKey),
  };
  for (const [i, address] of bootstrap.split(',').entries()) {
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    const sock = join(dir, `broker-${i}.sock`);
    helpers.push(
      spawn('ip', ['netns', 'exec', NS, 'socat', `UNIX-LISTEN:${sock},fork`, `TCP:127.0.0.1:${port}`], {
        stdio: 'ignore',
      }),
    );
    await waitFor(() => existsSync(sock), sock);
    const server = createTlsServer(tls, (client) => {
      const upstream = netConnect(sock);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    terminators.push(server);
  }
  // Produce through TLS, as any client outside the namespace must.
  const kafka = new Kafka({
    brokers: bootstrap.split(','),
    clientId: 'fs-test',
    logLevel: logLevel.NOTHING,
    ssl: { ca: readFileSync(pki.ca) },
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const messages = lines.map((l, i) => collectorMessage(l, `line-${i}`));
  for (let i = 0; i < messages.length; i += 500) {
    await producer.send({
      topic: 'tls-events',
      compression: CompressionTypes.GZIP,
      acks: -1,
      messages: messages.slice(i, i + 500),
    });
  }
  await producer.disconnect();
}, 120_000);

afterAll(async () => {
  for (const s of terminators) s.close();
  for (const h of helpers) h.kill('SIGKILL');
  if (brokerProc !== null) {
    brokerProc.stdin!.end();
    brokerProc.kill('SIGKILL');
  }
  if (canNetns === null) {
    try {
      execFileSync('ip', ['netns', 'del', NS], { stdio: 'pipe' });
    } catch {
      // already gone
    }
  }
});

describe.skipIf(canNetns !== null)(
  `kafka over TLS${canNetns === null ? '' : ` (skipped: ${canNetns})`}`,
  () => {
    const broker = () => ({ bootstrap, brokers: bootstrap.split(',') }) as TestBroker;

    it('a member reads, repartitions, checkpoints and writes through TLS brokers (--kafka-ca)', async () => {
      const run = startRunner(
        kafkaArgs({
          broker: broker(),
          topic: 'tls-events',
          group: 'tls-group',
          dir: join(dir, 'ok'),
          tag: 'a',
          extra: [
            '--topology',
            'llm-perf',
            '--kafka-ca',
            pki.ca,
            '--output-topic',
            'tls-rows',
            '--dead-letter-topic',
            'tls-dead-letters',
          ],
        }),
      );
      const r = await run.result;
      expect(r.code, r.stderr).toBe(0);
      const s = runnerSummary(r.stdout);
      expect(s.eventsRead).toBe(lines.length);
      expect(s.rowsWritten).toBeGreaterThan(0);
      expect(folderLines(join(dir, 'ok', 'rows')).length).toBe(s.rowsWritten);
      // The producers of the output and dead-letter topics wrote through TLS as well.
      const admin = new Kafka({
        brokers: bootstrap.split(','),
        clientId: 'fs-test',
        logLevel: logLevel.NOTHING,
        ssl: { ca: readFileSync(pki.ca) },
      }).admin();
      await admin.connect();
      try {
        const total = async (topic: string) =>
          (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
        expect(await total('tls-rows')).toBeGreaterThanOrEqual(s.rowsWritten);
        expect(await total('tls-dead-letters')).toBe(
          Object.values(s.deadLettersByReason).reduce((a, b) => a + b, 0),
        );
      } finally {
        await admin.disconnect();
      }
    }, 180_000);

    it('replay --kafka reads through TLS brokers too', async () => {
      const args = (ca: string) => [
        KAFKA_ENTRY,
        'replay',
        '--topology',
        'llm-perf',
        '--kafka',
        bootstrap,
        '--topic',
        'tls-events',
        '--from',
        '2000-01-01',
        '--to',
        '2100-01-01',
        '--feature-version',
        '2',
        '--out',
        join(dir, `replay-${ca === pki.ca ? 'ok' : 'wrong'}.ndjson`),
        '--state-dir',
        join(dir, `replay-state-${ca === pki.ca ? 'ok' : 'wrong'}`),
        '--workers',
        '1',
        '--summary-json',
        '--kafka-ca',
        ca,
      ];
      const ok = await startRunner(args(pki.ca)).result;
      expect(ok.code, ok.stderr).toBe(0);
      expect(readFileSync(join(dir, 'replay-ok.ndjson'), 'utf8').length).toBeGreaterThan(0);
      const wrong = await startRunner(args(pki.wrongCa)).result;
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(
        /^featurestream: --kafka 127\.0\.0\.1:\d+: TLS certificate not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE/m,
      );
    }, 180_000);

    it('a wrong CA fails at start with one line naming the broker and the certificate problem', async () => {
      const run = startRunner(
        kafkaArgs({
          broker: broker(),
          topic: 'tls-events',
          group: 'tls-wrong',
          dir: join(dir, 'wrong'),
          tag: 'a',
          extra: ['--kafka-ca', pki.wrongCa],
        }),
      );
      const r = await run.result;
      expect(r.code).toBe(1);
      const first = bootstrap.split(',')[0]!;
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('featurestream:'));
      expect(lines).toHaveLength(1);
      // Node 24 appends a hint to OpenSSL's words ("; if the root CA is installed locally, …").
      expect(lines[0]).toMatch(
        new RegExp(
          `^featurestream: --kafka ${first.replaceAll('.', '\\.')}: TLS certificate not trusted \\(UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate(; [^)]*)?\\)$`,
        ),
      );
    }, 60_000);
  },
);
