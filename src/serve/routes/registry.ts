/**
 * `/registry/features`, `/registry/features/:id_or_name` and `/registry/groups`: the feature
 * registry, serialized once at start-up, and `/quality` (quality.ts); behind the bearer token
 * when one is configured. (Plugins' routes, e.g. `/workflow/rank-features`, are serve
 * extensions: extensions.ts.)
 *
 * @example
 * await app.register(registryRoutes(ctx));
 */
import type { FastifyInstance } from 'fastify';
import type { FeatureDef } from '../../registry/feature-set.js';
import { RequestError } from '../errors.js';
import { registerQualityRoute } from './quality.js';
import type { RouteContext } from './context.js';

/** The registry routes as a fastify plugin. */
export function registryRoutes(ctx: RouteContext) {
  const { resolver, featureSet: set } = ctx;
  const registryFeatures = JSON.stringify({ features: set.features.map(registryEntry) });
  const registryById = new Map<string, string>();
  for (const f of set.features) registryById.set(f.id, JSON.stringify(registryEntry(f)));
  const registryGroups = JSON.stringify({
    groups: set.groups.map((g) => ({
      group: g.group,
      entity: g.entity,
      ttl_seconds: resolver.group(g.group)!.ttlMs / 1000,
      window: g.window,
      version: g.version,
      rollout: resolver.group(g.group)!.rollout,
      features: set.ofGroup(g.group).map((f) => f.id),
    })),
  });
  return async (scope: FastifyInstance): Promise<void> => {
    scope.addHook('onResponse', ctx.recordHook);
    if (ctx.auth !== null) scope.addHook('onRequest', ctx.auth);

    scope.get('/registry/features', { config: { metricsRoute: 'registry' } }, (_request, reply) => {
      reply.type('application/json; charset=utf-8').send(registryFeatures);
    });

    scope.get<{ Params: { id_or_name: string } }>(
      '/registry/features/:id_or_name',
      { config: { metricsRoute: 'registry' } },
      (request, reply) => {
        const def = set.byIdOrName(request.params.id_or_name);
        if (def === undefined) {
          throw new RequestError(
            404,
            'unknown_feature',
            `unknown feature "${request.params.id_or_name}" (GET /registry/features lists them)`,
            'id_or_name',
          );
        }
        reply.type('application/json; charset=utf-8').send(registryById.get(def.id));
      },
    );

    scope.get('/registry/groups', { config: { metricsRoute: 'registry' } }, (_request, reply) => {
      reply.type('application/json; charset=utf-8').send(registryGroups);
    });

    // Quality scores per feature from the offline store (issue 12).
    registerQualityRoute(scope, {
      featureSet: set,
      offline: ctx.opts.offline,
      metrics: ctx.metrics,
      ...(ctx.opts.offlineSchema === undefined ? {} : { schema: ctx.opts.offlineSchema }),
    });
  };
}

function registryEntry(f: FeatureDef) {
  return {
    id: f.id,
    name: f.name,
    type: 'float64',
    category: f.category,
    entity: f.entity,
    group: f.group,
    description: f.description,
    computation: f.computation,
    source: f.source,
    window: f.window,
    version: f.version,
    // An unbounded max (∞) is written as null.
    validation: f.validation,
    value_names: f.valueNames,
    freshness_sla_seconds: f.freshnessSlaSeconds,
    owner: f.owner,
    tags: f.tags,
    active: true,
  };
}
