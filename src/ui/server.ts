import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { ListenTls } from '../shared/listen-tls.js';
import type { AddressInfo } from 'node:net';
import type { Topology } from '../../topology/nodes.js';
import { serializeTopology } from '../../topology/index.js';
import { ConfigError, InUseError } from '../shared/errors.js';
import type { TopologyJson } from './graph.js';
import { RunMetrics } from './metrics.js';
import { clientBundle, pageHtml } from './page.js';

/** A running UI server. */
export interface UiServer {
  readonly port: number;
  readonly metrics: RunMetrics;
  close(): Promise<void>;
}

/**
 * Serves the topology page on `port` (0: any free port):
 *
 * - `GET /` the page, `GET /app.js` its bundled script;
 * - `GET /api/topology` exactly what `topology show --format json` prints (the topology file);
 * - `GET /api/metrics` a {@link MetricsSnapshot} as JSON;
 * - `GET /api/events` Server-Sent Events: a `metrics` event every `intervalMs` (default 1 s, or
 *   the env `FEATURESTREAM_UI_INTERVAL_MS`).
 *
 * The metrics come from the returned {@link RunMetrics}: pass it to `runJob` as its observer
 * (`run --ui-port`); without a job (`featurestream ui`) the figures stay at zero (`idle`).
 *
 * @example
 * const ui = await startUiServer(llmFeaturesTopology(), 8081);
 * await runJob({ ...opts, observer: ui.metrics });
 */
export async function startUiServer(
  topology: Topology,
  port: number,
  opts: { host?: string; intervalMs?: number; flag?: string; tls?: ListenTls | null } = {},
): Promise<UiServer> {
  const json = serializeTopology(topology, 'json');
  const metrics = new RunMetrics(JSON.parse(json) as TopologyJson);
  const script = clientBundle();
  const page = pageHtml({ title: `featurestream — ${topology.name}` });
  const streams = new Set<import('node:http').ServerResponse>();
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'text/plain', 'only GET\n');
    switch (path) {
      case '/':
      case '/index.html':
        return send(200, 'text/html; charset=utf-8', page);
      case '/app.js':
        return send(200, 'text/javascript; charset=utf-8', script);
      case '/api/topology':
        return send(200, 'application/json', json);
      case '/api/metrics':
        return send(200, 'application/json', `${JSON.stringify(metrics.snapshot())}\n`);
      case '/api/events': {
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
        });
        res.write(`retry: 1000\nevent: metrics\ndata: ${JSON.stringify(metrics.snapshot())}\n\n`);
        streams.add(res);
        req.on('close', () => streams.delete(res));
        return;
      }
      default:
        return send(404, 'application/json', `${JSON.stringify({ error: `no such path: ${path}` })}\n`);
    }
  };
  // HTTPS with --tls-cert/--tls-key, else plain HTTP.
  const server: Server = (
    opts.tls === undefined || opts.tls === null
      ? createServer(listener)
      : createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, listener)
  ) as Server;
  const timer = setInterval(
    () => {
      if (streams.size === 0) return;
      const data = `event: metrics\ndata: ${JSON.stringify(metrics.snapshot())}\n\n`;
      for (const s of streams) s.write(data);
    },
    opts.intervalMs ?? (Number(process.env.FEATURESTREAM_UI_INTERVAL_MS) || 1000),
  );
  timer.unref();
  await new Promise<void>((resolve, reject) => {
    // `run --ui-port P` or `ui --port P`: the message names the flag the command has.
    const flag = opts.flag ?? '--ui-port';
    const host = opts.host ?? '127.0.0.1';
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new InUseError(
              `${flag} ${port}: ${host}:${port} is in use by another process: stop it or choose another ${flag}`,
              { field: flag, cause: err },
            )
          : new ConfigError(`${flag}: cannot listen on ${host}:${port}: ${err.message}`, {
              field: flag,
              cause: err,
            }),
      ),
    );
    try {
      server.listen(port, host, () => resolve());
    } catch (err) {
      // A port out of range (RangeError) is a bad argument.
      reject(
        new ConfigError(`${flag}: cannot listen on ${host}:${port}: ${(err as Error).message}`, {
          field: flag,
        }),
      );
    }
  });
  return {
    port: (server.address() as AddressInfo).port,
    metrics,
    async close() {
      clearInterval(timer);
      // A last update, so an open page shows the final figures.
      const data = `event: metrics\ndata: ${JSON.stringify(metrics.snapshot())}\n\n`;
      for (const s of streams) s.end(data);
      streams.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

/** `topology show --format svg`: the graph as one SVG document. */
export async function topologySvg(topology: Topology): Promise<string> {
  const { graphOf, layoutGraph, renderGraphSvg } = await import('./graph.js');
  return renderGraphSvg(
    layoutGraph(graphOf(JSON.parse(serializeTopology(topology, 'json')) as TopologyJson)),
  );
}

/** `topology show --format html`: the page with the topology and the script inline (no network). */
export function topologyHtml(topology: Topology): string {
  return pageHtml({
    title: `featurestream — ${topology.name}`,
    topologyJson: serializeTopology(topology, 'json'),
    inlineScript: clientBundle(),
  });
}
