/**
 * The bare `node:http` server of `bench:serve` (serve.ts), in a process of its own that loads
 * nothing else: it answers every request with the body the bench sends it (as a bare server
 * would `res.end(JSON.stringify(x))`), and times each answer as featurestream's histogram does.
 * Messages: `body` (then `body-set`), `bare-reset`, `bare-latency` (p50 and p99 in ms), `stop`.
 */
import { type IncomingMessage, type ServerResponse, createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';

async function main(): Promise<void> {
  // A string body, as a bare server would `res.end(JSON.stringify(x))`.
  let body = '{}';
  // The bare server's own latency, measured as featurestream's histogram measures it: from the
  // request handed over (headers parsed) to the response written.
  let bareMs: number[] = [];
  const bare = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const reply = () => {
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
      bareMs.push(performance.now() - started);
    };
    if (req.method === 'POST') {
      req.on('data', () => {});
      req.on('end', reply);
    } else {
      reply();
    }
  });
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  process.on('message', (msg: { kind: string; body?: string }) => {
    if (msg.kind === 'body') {
      body = msg.body!;
      process.send!({ kind: 'body-set' });
    } else if (msg.kind === 'bare-reset') {
      bareMs = [];
      process.send!({ kind: 'bare-reset' });
    } else if (msg.kind === 'bare-latency') {
      bareMs.sort((a, b) => a - b);
      const q = (p: number) => bareMs[Math.min(bareMs.length - 1, Math.ceil(p * bareMs.length) - 1)] ?? NaN;
      process.send!({ kind: 'bare-latency', p50: q(0.5), p99: q(0.99) });
    } else if (msg.kind === 'stop') {
      bare.close(() => process.exit(0));
    }
  });
  process.send!({ kind: 'ready', barePort: (bare.address() as AddressInfo).port });
}

await main();
