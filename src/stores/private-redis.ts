import { type ChildProcess, spawn } from 'node:child_process';
import { freePort, waitForPort } from '../shared/free-port.js';

/**
 * A redis-server of a test's own, on a free port, without persistence — for outage tests that
 * must not stop the Redis other tests share. `stop()` SIGKILLs it (data gone), `start()` starts
 * an empty one on the same port.
 *
 * @example
 * const redis = await PrivateRedis.start();
 * const store = new RedisOnlineStore({ connection: redis.url });
 * await redis.stop(); // outage
 * await redis.start(); // back, empty
 * await redis.stop();
 */
export class PrivateRedis {
  private proc: ChildProcess | null = null;

  private constructor(readonly port: number) {}

  /** Starts a server on a free port. */
  static async start(): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort());
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null;
  }

  /** Starts (again) on the same port and waits until it accepts connections. */
  async start(): Promise<void> {
    if (this.running) return;
    this.proc = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    );
    await waitForPort(this.port, 'redis-server');
  }

  /** SIGKILLs the server and waits for it to exit. */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (proc === null || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  }
}
