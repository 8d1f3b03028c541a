import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ExternalError } from './errors.js';
import { freePort, waitForPort } from './free-port.js';

describe('waitForPort', () => {
  it('resolves once a server listens, started after the wait began', async () => {
    const port = await freePort();
    const server = createServer();
    const late = setTimeout(() => server.listen(port, '127.0.0.1'), 300);
    try {
      const started = Date.now();
      await waitForPort(port, 'a late server', 5000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    } finally {
      clearTimeout(late);
      await new Promise((r) => server.close(r));
    }
  });

  it('fails with an ExternalError naming what did not listen', async () => {
    const port = await freePort();
    const err = await waitForPort(port, 'redis-server', 300).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExternalError);
    expect((err as Error).message).toBe(`redis-server did not listen on port ${port} within 300 ms`);
  });
});
