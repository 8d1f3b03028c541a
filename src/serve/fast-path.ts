/**
 * The L1 fast path of `GET /features/:entity_type/:entity_id`: a plain request (simple path
 * segments, only `features` and optionally `user_id` in the query, no percent-encoding) whose
 * groups are all L1 hits is answered straight from the `node:http` handler, before fastify's
 * routing, hooks and validation — the same status, headers and body (serialized by the route's
 * own compiled serializer), the same metrics. Anything else — a miss, an unusual query, a
 * wrong token, a server closing — returns false and goes through fastify unchanged, so every
 * error answer and every non-L1 read is the full route's. Profiled on the bench's L1 GET:
 * fastify's routing, querystring parsing, ajv validation and reply machinery cost ~40% of
 * throughput against a bare `node:http` server; the cache lookup and serialization ~5%.
 *
 * @example
 * const fast = createFastPath({ resolver, reader, metrics, authToken, closing: () => closing });
 * http.createServer((req, res) => { if (!fast(req, res)) fastifyHandler(req, res); });
 */
import type { ServerResponse } from 'node:http';
import { assignVersion } from '../registry/rollout.js';
import { bearerMatches } from './auth.js';
import type { ServeMetrics } from './metrics.js';
import { assemble } from './reading.js';
import type { FeaturePlan, FeatureResolver } from './resolve.js';
import type { Lookup, TieredReader } from './tiers.js';
import { round3, STARTED, type StampedRequest } from './timing.js';

/** What the fast path reads and records with (the server's own instances). */
export interface FastPathOptions {
  readonly resolver: FeatureResolver;
  readonly reader: TieredReader;
  readonly metrics: ServeMetrics;
  readonly authToken?: string | undefined;
  /** True once the server is closing (fastify then answers 503). */
  readonly closing: () => boolean;
  /**
   * The features route's own compiled response serializer (fast-json-stringify of its 200
   * schema), captured on the route's first answer; until then every request goes to the route
   * (L1 is empty then anyway).
   */
  readonly serializer: () => ((body: unknown) => string) | undefined;
}

/**
 * A response body of one single-group L1 entry, serialized once and cut around the two numbers
 * that change with the clock: `head + freshness_seconds + middle + latency_ms + tail`. The
 * freshness is null when the entry holds no value (`oldestEvent` is then NaN and `middle` empty).
 */
interface Template {
  readonly plan: FeaturePlan;
  readonly entityId: string;
  readonly version: number;
  readonly head: string;
  readonly middle: string;
  readonly tail: string;
  readonly oldestEvent: number;
}

/** Numbers no response holds, to find where the clock-dependent ones go in a serialized body. */
const FRESH_MARK = 1.2345678901234567e300;
const LATENCY_MARK = 7.654321e299;

/** A request the fast path takes: its entity and resolved features. */
interface Parsed {
  readonly entityType: string;
  readonly entityId: string;
  readonly userId: string | undefined;
  readonly plan: FeaturePlan;
}

/** URLs whose parse is remembered (then forgotten all at once). */
const MEMO_SIZE = 4096;

/** Characters of path segments and query values the fast path takes as they are. */
const PLAIN = /^[A-Za-z0-9._~:@,-]+$/;
const PREFIX = '/features/';

/** Builds the fast path: returns true when it answered the request. */
export function createFastPath(o: FastPathOptions): (req: StampedRequest, res: ServerResponse) => boolean {
  const expected = o.authToken === undefined ? null : Buffer.from(`Bearer ${o.authToken}`);
  const { resolver, reader, metrics } = o;
  // Per L1 entry (the same object while it stays cached): its body template for the last plan.
  const templates = new WeakMap<Lookup, Template>();

  const template = (
    serialize: (body: unknown) => string,
    plan: FeaturePlan,
    lookup: Lookup,
    entityId: string,
    version: number,
  ): Template | null => {
    const known = templates.get(lookup);
    if (
      known !== undefined &&
      known.plan === plan &&
      known.entityId === entityId &&
      known.version === version
    ) {
      return known;
    }
    const served = assemble(plan, [lookup], [version], null);
    const fresh = served.metadata.freshness_seconds;
    const body = serialize({
      entity_id: entityId,
      features: served.features,
      statuses: served.statuses,
      metadata: { ...served.metadata, freshness_seconds: fresh === null ? null : FRESH_MARK },
      latency_ms: LATENCY_MARK,
    });
    const l = body.lastIndexOf(String(LATENCY_MARK));
    const f = fresh === null ? -1 : body.lastIndexOf(String(FRESH_MARK), l);
    if (l < 0 || (fresh !== null && f < 0)) return null;
    const t: Template =
      f < 0
        ? {
            plan,
            entityId,
            version,
            head: '',
            middle: body.slice(0, l),
            tail: body.slice(l + String(LATENCY_MARK).length),
            oldestEvent: Number.NaN,
          }
        : {
            plan,
            entityId,
            version,
            head: body.slice(0, f),
            middle: body.slice(f + String(FRESH_MARK).length, l),
            tail: body.slice(l + String(LATENCY_MARK).length),
            oldestEvent: lookup.value!.eventTime,
          };
    templates.set(lookup, t);
    return t;
  };

  /** A URL's parse, memoized (bounded): null when the fast path does not take it. */
  const parsed = new Map<string, Parsed | null>();

  return (req, res) => {
    if (req.method !== 'GET') return false;
    const url = req.url;
    if (url === undefined || !url.startsWith(PREFIX)) return false;
    let p = parsed.get(url);
    if (p === undefined) {
      p = parse(url, resolver);
      if (parsed.size >= MEMO_SIZE) parsed.clear();
      parsed.set(url, p);
    }
    const serialize = o.serializer();
    if (p === null || serialize === undefined || o.closing()) return false;
    if (expected !== null && !bearerMatches(expected, req.headers.authorization)) return false;
    const { entityType, entityId, userId, plan } = p;
    const groups = plan.groups;
    const n = groups.length;
    const lookups = new Array<Lookup>(n);
    const versions = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const g = groups[i]!;
      const v =
        userId !== undefined && g.rollout !== null ? assignVersion(userId, g.rollout) : g.defaultVersion;
      const hit = reader.peekL1(entityType, entityId, g.group, v);
      if (hit === undefined) return false;
      lookups[i] = hit;
      versions[i] = v;
    }
    for (let i = 0; i < n; i++) metrics.cacheLookup('l1', true);
    const started = req[STARTED] ?? performance.now();
    let body: string;
    const t = n === 1 ? template(serialize, plan, lookups[0]!, entityId, versions[0]!) : null;
    if (t !== null) {
      // As `assemble` computes it: round3((now − oldest event time) / 1000).
      const fresh = Number.isNaN(t.oldestEvent) ? '' : String(round3((Date.now() - t.oldestEvent) / 1000));
      body = t.head + fresh + t.middle + String(round3(performance.now() - started)) + t.tail;
    } else {
      const served = assemble(plan, lookups, versions, null);
      body = serialize({
        entity_id: entityId,
        features: served.features,
        statuses: served.statuses,
        metadata: served.metadata,
        latency_ms: round3(performance.now() - started),
      });
    }
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
    metrics.response('features', 200, performance.now() - started);
    return true;
  };
}

/**
 * Parses `/features/TYPE/ID?features=…[&user_id=…]` when every part is plain (see {@link PLAIN})
 * and within the schema's lengths, and resolves the features; null for anything else (fastify
 * then answers, errors included).
 */
function parse(url: string, resolver: FeatureResolver): Parsed | null {
  const q = url.indexOf('?', PREFIX.length);
  if (q < 0) return null;
  const slash = url.indexOf('/', PREFIX.length);
  if (slash < 0 || slash > q) return null;
  const entityType = url.slice(PREFIX.length, slash);
  const entityId = url.slice(slash + 1, q);
  if (entityType.length > 64 || entityId.length > 512 || !PLAIN.test(entityType) || !PLAIN.test(entityId)) {
    return null;
  }
  let features: string | undefined;
  let userId: string | undefined;
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    if (eq < 0) return null;
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (!PLAIN.test(value)) return null;
    if (key === 'features' && features === undefined && value.length <= 4096) features = value;
    else if (key === 'user_id' && userId === undefined && value.length <= 512) userId = value;
    else return null;
  }
  if (features === undefined) return null;
  try {
    return { entityType, entityId, userId, plan: resolver.resolve([features], entityType) };
  } catch {
    return null; // the full route answers the error
  }
}
