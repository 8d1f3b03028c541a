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
      const [c2, c3] = await Promise.all([
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
      const l2 = typeof c2 === 'string' ? c2 : c2.status;
      const l3 = typeof c3 === 'string' ? c3 : c3.status;
      const subscription = ctx.subscription();
      const inv = subscription === null ? 'disabled' : subscription.subscribed ? 'ok' : 'down';
      const ready = l2 !== 'down' && l3 !== 'down' && inv !== 'down';
      reply.code(ready ? 200 : 503);
      // What is down, by name and with its error, so a probe's log says which store to look at.
      const names = opts.storeNames ?? {};
      const down: string[] = [];
      const ownUrl = (online as { url?: unknown } | null)?.url;
      const onlineName = names.online ?? (typeof ownUrl === 'string' ? ownUrl : 'online store');
      if (typeof c2 !== 'string' && c2.status === 'down') down.push(`online ${onlineName}: ${c2.error}`);
      if (typeof c3 !== 'string' && c3.status === 'down')
        down.push(`offline ${names.offline ?? 'offline store'}: ${c3.error}`);
      if (inv === 'down') down.push(`invalidation ${onlineName}: not subscribed`);
      return {
        status: ready ? 'ready' : 'not_ready',
        checks: { online: l2, offline: l3, invalidation: inv },
        ...(down.length === 0 ? {} : { down }),
      };
    });

    app.get('/metrics', { config: { metricsRoute: 'metrics' } }, async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  };
}

/** Resolves to ok, or down with the error when `probe` fails or takes longer than `timeoutMs`. */
async function check(
  probe: () => Promise<unknown>,
  timeoutMs: number,
): Promise<{ status: 'ok' } | { status: 'down'; error: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { status: 'ok' };
  } catch (err) {
    return { status: 'down', error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}
