/**
 * Serve extensions: routes a plugin adds to the serving API (e.g. the API-workflow domain's
 * `POST /workflow/rank-features`), without the platform knowing the plugin. A plugin carries one
 * as `extensions: { serve: extension }` (see `operators/plugins.ts`); {@link createServer} mounts
 * every registered one ({@link registeredServeExtensions}) unless its `extensions` option names
 * others.
 *
 * Each extension is registered once per server, in its own fastify scope that sits behind the
 * bearer token when one is configured and whose responses are recorded in the serving metrics
 * under the route's `config.metricsRoute` (as the `/registry*` routes). An extension that keeps
 * store rows in process hands the server an {@link L1Follower} (`ctx.followL1`) so that they
 * follow L1's freshness rules: dropped on the invalidation channel's keys, off while the
 * subscription is down.
 *
 * @example
 * export const myServeExtension: ServeExtension = {
 *   name: 'my-domain',
 *   register(scope, ctx) {
 *     scope.get('/my-domain/ping', { config: { metricsRoute: 'my-domain' } }, async () => ({ ok: true }));
 *   },
 * };
 * export default definePlugin({ name: 'my-domain', extensions: { serve: myServeExtension } });
 */
import type { FastifyInstance } from 'fastify';
import { pluginExtensions } from '../../operators/plugins.js';
import type { FeatureSet } from '../registry/feature-set.js';
import { ConfigError } from '../shared/errors.js';
import type { ServeMetrics } from './metrics.js';
import type { ServeOptions } from './server.js';

/** The plugin extension kind of serve extensions (`extensions: { serve: … }`). */
/** What an extension's routes use of the serving API: its request error (a 400 naming the problem) and metrics. */
export { RequestError } from './errors.js';
export type { ServeMetrics } from './metrics.js';

export const SERVE_EXTENSION_KIND = 'serve';

/**
 * In-process state kept in step with L1 (tiers.ts): invalidated with it by store key, and turned
 * off while invalidations may be missed.
 */
export interface L1Follower {
  /** Drops entries by store key (the keys of one invalidation message, key prefix included). */
  invalidate(keys: readonly string[]): void;
  /** Off (invalidations may be missed) or on again (then emptied first: some may have been). */
  setActive(active: boolean): void;
}

/** What one server gives an extension when it registers it. */
export interface ServeExtensionContext {
  /** The server's options as given (the stores: `online`, `offline`, `offlineSchema`, …). */
  readonly opts: ServeOptions;
  /** The features and groups served. */
  readonly featureSet: FeatureSet;
  /** The server's metrics; extensions register their own on `metrics.registry`. */
  readonly metrics: ServeMetrics;
  /** L1's rules for rows kept in process. */
  readonly l1: {
    /** Longest life of an entry, ms: L1's TTL, or 0 when L1 is off (`l1.maxBytes` 0). */
    readonly ttlMs: number;
    /** The online store's key prefix: store keys (and invalidation messages) start with it. */
    readonly keyPrefix: string;
  };
  /** This extension's entry of `ServeOptions.extensionOptions` (undefined when none was given). */
  readonly options: unknown;
  /**
   * Keeps `follower` in step with L1: when the server subscribes to invalidations it is turned off
   * until the subscription is up, and gets every invalidated key. Call it during `register`.
   */
  followL1(follower: L1Follower): void;
}

/** Routes a plugin adds to the serving API (see the module comment). */
export interface ServeExtension {
  /** For messages, and the key of its `ServeOptions.extensionOptions` entry. */
  readonly name: string;
  /**
   * Adds the extension's routes to `scope` (its own scope, behind the bearer token). Runs once per
   * server, before it subscribes to invalidations; may throw a `ConfigError` (bad options).
   */
  register(scope: FastifyInstance, ctx: ServeExtensionContext): void | Promise<void>;
}

/**
 * Identity, for type checking a serve extension written in TypeScript.
 *
 * @example
 * const ext = defineServeExtension({ name: 'x', register(scope) { scope.get('/x', async () => ({})); } });
 */
export function defineServeExtension(extension: ServeExtension): ServeExtension {
  return extension;
}

/**
 * The serve extensions the registered plugins carry, in registration order.
 *
 * @throws ConfigError naming the plugin when its `extensions.serve` is not a serve extension
 *   (an object with a `name` and a `register` function).
 */
export function registeredServeExtensions(): ServeExtension[] {
  return pluginExtensions(SERVE_EXTENSION_KIND).map(({ plugin, extension }) => {
    const e = extension as Partial<ServeExtension> | null;
    if (
      e === null ||
      typeof e !== 'object' ||
      typeof e.name !== 'string' ||
      e.name === '' ||
      typeof e.register !== 'function'
    ) {
      throw new ConfigError(
        `plugin ${plugin}: \`extensions.serve\` must be a serve extension ({ name, register(scope, ctx) })`,
        { field: 'extensions.serve' },
      );
    }
    return e as ServeExtension;
  });
}

/**
 * Checks the extensions a server mounts and its `extensionOptions`: names are unique, and every
 * options entry names one of them.
 *
 * @throws ConfigError naming the duplicate extension or the options entry without an extension.
 */
export function checkServeExtensions(
  extensions: readonly ServeExtension[],
  extensionOptions: Readonly<Record<string, unknown>> | undefined,
): void {
  const names = new Set<string>();
  for (const e of extensions) {
    if (names.has(e.name)) {
      throw new ConfigError(`serve extension \`${e.name}\` is mounted twice`, { field: 'extensions' });
    }
    names.add(e.name);
  }
  for (const name of Object.keys(extensionOptions ?? {})) {
    if (!names.has(name)) {
      throw new ConfigError(
        `\`extensionOptions.${name}\`: no serve extension \`${name}\` (mounted: ${[...names].join(', ') || 'none'})`,
        { field: `extensionOptions.${name}` },
      );
    }
  }
}
