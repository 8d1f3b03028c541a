/**
 * `/healthz`, `/readyz` and `/metrics`: always open (no token), for probes and scrapers.
 *
 * @example
 * await app.register(healthRoutes(ctx));
 */
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from './context.js';

/** The health, readiness and metrics routes as a fastify plugin. */
export function healthRoutes(ctx: RouteContext) {
  const { opts, offline, metrics } = ctx;
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onResponse', ctx.recordHook);
    app.get('/healthz', { config: { metricsRoute: 'healthz' } }, async () => ({ status: 'ok' }));

    app.get('/readyz', { config: { metricsRoute: 'readyz' } }, async (_request, reply) => {
      const timeout = opts.readyTimeoutMs ?? 2_000;
      const online = opts.online;
      const [l2, l3] = await Promise.all([
        online === null
          ? 'disabled'
          : check(
              () =>
                online.ping !== undefined
                  ? online.ping()
                  : online.read('system', '__featurestream_readyz__', 'context', 1),
              timeout,
            ),
        offline === null ? 'disabled' : check(() => offline.ping(), timeout),
      ]);
      const subscription = ctx.subscription();
      const inv = subscription === null ? 'disabled' : subscription.subscribed ? 'ok' : 'down';
      const ready = l2 !== 'down' && l3 !== 'down' && inv !== 'down';
      reply.code(ready ? 200 : 503);
      return {
        status: ready ? 'ready' : 'not_ready',
        checks: { online: l2, offline: l3, invalidation: inv },
      };
    });

    app.get('/metrics', { config: { metricsRoute: 'metrics' } }, async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  };
}

/** Resolves to 'ok', or 'down' when `probe` fails or takes longer than `timeoutMs`. */
async function check(probe: () => Promise<unknown>, timeoutMs: number): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return 'ok';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}
