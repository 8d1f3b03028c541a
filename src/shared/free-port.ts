import { createServer, Socket } from 'node:net';
import { ExternalError } from './errors.js';

/**
 * A TCP port free on 127.0.0.1 right now (the OS picks it; the listener is closed again), for a
 * server a test or a test aid starts: a private redis-server, a run's `--metrics-port`, a port
 * nothing listens on.
 *
 * @example
 * const port = await freePort();
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether something accepts a TCP connection on 127.0.0.1:`port` now. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket();
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
    sock.connect(port, '127.0.0.1');
  });
}

/**
 * Waits until a server started here listens on 127.0.0.1:`port` (a try every 50 ms); throws an
 * {@link ExternalError} naming `what` after `timeoutMs`.
 *
 * @example
 * spawn('redis-server', ['--port', String(port)]);
 * await waitForPort(port, 'redis-server');
 */
export async function waitForPort(port: number, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await listening(port))) {
    if (Date.now() > deadline)
      throw new ExternalError(`${what} did not listen on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
