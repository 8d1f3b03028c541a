import type { Server } from 'node:http';
import type { DriftMonitor } from '../drift/monitor.js';
import { serveMetrics } from '../runtime/kafka/metrics.js';
import type { FeatureSet } from '../registry/feature-set.js';
import { RunMetrics } from './run-metrics.js';

/**
 * `run --metrics-port` for a file run: the run's metrics ({@link RunMetrics}, plus continuous
 * drift's when on) on `/metrics`, with `/healthz` and `/readyz`, while the run lasts. Port 0
 * picks a free port (printed on stderr).
 *
 * @example
 * const served = await serveRunMetrics(9464, '.state', undefined, featureSet(topology));
 * await runJob({ ...opts, sinks: served.metrics.instrumentSinks(sinks), metrics: served.metrics });
 * await served.close();
 */
export async function serveRunMetrics(
  port: number,
  stateDir: string | null,
  drift: DriftMonitor | undefined,
  featureSet: FeatureSet,
): Promise<{ metrics: RunMetrics; server: Server; close(): Promise<void> }> {
  const metrics = new RunMetrics({ featureSet, stateDir });
  drift?.registerMetrics(metrics.registry);
  const server = await serveMetrics(port, metrics.registry, { live: () => true, ready: () => true });
  const address = server.address();
  if (address !== null && typeof address === 'object') {
    process.stderr.write(`metrics on http://127.0.0.1:${address.port}/metrics\n`);
  }
  return {
    metrics,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
