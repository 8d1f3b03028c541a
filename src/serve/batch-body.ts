/**
 * The response body of `POST /features/batch`, written as a string from per-item parts instead of
 * one serializer call over a tree of 100 result objects. Each part is exactly what the route's
 * own compiled serializer (fast-json-stringify of its 200 schema) writes for that item — every
 * part is cut out of that serializer's output — so the bytes are the same; a single-group L1 hit
 * is serialized once per L1 entry and then only its freshness changes with the clock. Profiled
 * on the bench's batch of 100 L1 hits: serializing the tree and assembling its objects cost more
 * than half of the route, and their garbage most of its GC.
 *
 * @example
 * const body = new BatchBody(reply.getSerializationFunction('200'));
 * const parts = items.map((it) => body.l1Item(it, plan, lookup, version, Date.now()) ?? body.item(batchItem(it, s)));
 * reply.type('application/json; charset=utf-8').send(body.body(parts, latencyMs));
 */
import { type BatchItem, assemble, batchItem } from './reading.js';
import type { FeaturePlan } from './resolve.js';
import type { Lookup } from './tiers.js';
import { round3 } from './timing.js';

/** A number no response holds, to find where the freshness goes in a serialized item. */
const FRESH_MARK = 1.2345678901234567e300;
const LATENCY_MARK = 7.654321e299;

/**
 * One single-group L1 item, serialized once per L1 entry and cut around its freshness:
 * `head + freshness_seconds + tail`; `head` alone when the entry holds no value (freshness null).
 */
interface ItemTemplate {
  readonly plan: FeaturePlan;
  readonly entityType: string;
  readonly entityId: string;
  readonly version: number;
  readonly head: string;
  readonly tail: string;
  /** The entry's event time (ms), NaN when freshness is null. */
  readonly oldestEvent: number;
}

/** Writes batch response bodies with one route's compiled serializer. */
export class BatchBody {
  /** `{"results":[`, `],"latency_ms":` and `}` as the serializer writes them. */
  private readonly open: string;
  private readonly beforeLatency: string;
  private readonly close: string;
  /** Per L1 entry (the same object while it stays cached): its item template for the last request. */
  private readonly templates = new WeakMap<Lookup, ItemTemplate>();

  /** Throws when the serializer's output cannot be cut into parts (the caller then serializes whole). */
  constructor(private readonly serialize: (body: unknown) => string) {
    const empty = serialize({ results: [], latency_ms: LATENCY_MARK });
    const brackets = empty.indexOf('[]');
    const mark = empty.indexOf(String(LATENCY_MARK));
    if (brackets < 0 || mark < brackets) throw new Error(`unexpected batch serialization: ${empty}`);
    this.open = empty.slice(0, brackets + 1);
    this.beforeLatency = empty.slice(brackets + 1, mark);
    this.close = empty.slice(mark + String(LATENCY_MARK).length);
  }

  /** One result object (as `batchItem` builds it) serialized as the whole body would hold it. */
  item(result: unknown): string {
    const s = this.serialize({ results: [result] });
    const end = s.lastIndexOf(']');
    return s.slice(this.open.length, end);
  }

  /**
   * The serialized item of a request whose one group is an L1 hit (`lookup`, served at
   * `version`), with its freshness as of `now` (ms since the epoch); null if it cannot be cut
   * (the caller then serializes the item whole).
   */
  l1Item(it: BatchItem, plan: FeaturePlan, lookup: Lookup, version: number, now: number): string | null {
    let t: ItemTemplate | null | undefined = this.templates.get(lookup);
    if (
      t === undefined ||
      t.plan !== plan ||
      t.entityId !== it.entity_id ||
      t.entityType !== it.entity_type ||
      t.version !== version
    ) {
      t = this.template(it, plan, lookup, version);
      if (t === null) return null;
      this.templates.set(lookup, t);
    }
    if (Number.isNaN(t.oldestEvent)) return t.head;
    // As `assemble` computes it: round3((now − oldest event time) / 1000).
    return t.head + String(round3((now - t.oldestEvent) / 1000)) + t.tail;
  }

  /** The whole body from the items' parts, in request order. */
  body(parts: readonly string[], latencyMs: number): string {
    return `${this.open}${parts.join(',')}${this.beforeLatency}${latencyMs}${this.close}`;
  }

  private template(it: BatchItem, plan: FeaturePlan, lookup: Lookup, version: number): ItemTemplate | null {
    const served = assemble(plan, [lookup], [version], null);
    const fresh = served.metadata.freshness_seconds;
    const base = { plan, entityType: it.entity_type, entityId: it.entity_id, version };
    if (fresh === null)
      return { ...base, head: this.item(batchItem(it, served)), tail: '', oldestEvent: NaN };
    served.metadata.freshness_seconds = FRESH_MARK;
    const s = this.item(batchItem(it, served));
    const f = s.lastIndexOf(String(FRESH_MARK));
    if (f < 0) return null;
    return {
      ...base,
      head: s.slice(0, f),
      tail: s.slice(f + String(FRESH_MARK).length),
      oldestEvent: lookup.value!.eventTime,
    };
  }
}
