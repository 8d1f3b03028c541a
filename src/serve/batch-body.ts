/**
 * The response body of `POST /features/batch`, written as a string from per-item parts instead of
 * one serializer call over a tree of 100 result objects. Each part is exactly what the route's
 * own compiled serializer (fast-json-stringify of its 200 schema) writes for that item — every
 * part is cut out of that serializer's output — so the bytes are the same; a single-group L1 hit
 * is serialized (and encoded) once per L1 entry and then only its freshness changes with the
 * clock; the body is copied together into one buffer. Profiled
 * on the bench's batch of 100 L1 hits: serializing the tree and assembling its objects cost more
 * than half of the route, and their garbage most of its GC.
 *
 * @example
 * const body = new BatchBody(reply.getSerializationFunction('200'));
 * const parts = items.map((it) => body.l1Item(it, plan, lookup, version) ?? body.item(batchItem(it, s)));
 * reply.type('application/json; charset=utf-8').send(body.body(parts, Date.now(), latencyMs));
 */
import { type BatchItem, assemble, batchItem } from './reading.js';
import type { FeaturePlan } from './resolve.js';
import type { Lookup } from './tiers.js';
import { round3 } from './timing.js';

/** A number no response holds, to find where the freshness goes in a serialized item. */
const FRESH_MARK = 1.2345678901234567e300;
const LATENCY_MARK = 7.654321e299;

/**
 * One single-group L1 item, serialized once per L1 entry and cut around its freshness, as bytes:
 * `head + freshness_seconds + tail`; `head` alone when the entry holds no value (freshness null).
 */
export class L1Item {
  constructor(
    readonly plan: FeaturePlan,
    readonly entityType: string,
    readonly entityId: string,
    readonly version: number,
    readonly head: Buffer,
    readonly tail: Buffer,
    /** The entry's event time (ms), NaN when freshness is null. */
    readonly oldestEvent: number,
  ) {}

  /** Its freshness as `assemble` computes it, round3((now − oldest event time) / 1000), as text; '' when null. */
  fresh(now: number): string {
    return Number.isNaN(this.oldestEvent) ? '' : String(round3((now - this.oldestEvent) / 1000));
  }
}

/** Writes batch response bodies with one route's compiled serializer. */
export class BatchBody {
  /** `{"results":[`, `],"latency_ms":` and `}` as the serializer writes them. */
  private readonly open: string;
  private readonly beforeLatency: string;
  private readonly close: string;
  /** Per L1 entry (the same object while it stays cached): its item for the last request. */
  private readonly items = new WeakMap<Lookup, L1Item>();

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
    return s.slice(this.open.length, s.lastIndexOf(']'));
  }

  /**
   * The item of a request whose one group is an L1 hit (`lookup`, served at `version`); null if
   * it cannot be cut (the caller then serializes the item whole).
   */
  l1Item(it: BatchItem, plan: FeaturePlan, lookup: Lookup, version: number): L1Item | null {
    const known = this.items.get(lookup);
    if (
      known !== undefined &&
      known.plan === plan &&
      known.entityId === it.entity_id &&
      known.entityType === it.entity_type &&
      known.version === version
    ) {
      return known;
    }
    const made = this.make(it, plan, lookup, version);
    if (made !== null) this.items.set(lookup, made);
    return made;
  }

  /**
   * The whole body, in request order, from L1 items (their freshness as of `now`, ms since the
   * epoch) and serialized items ({@link item}).
   */
  body(parts: ReadonlyArray<L1Item | string>, now: number, latencyMs: number): Buffer {
    const n = parts.length;
    const fresh = new Array<string>(n);
    const end = `${this.beforeLatency}${latencyMs}${this.close}`;
    let size = this.open.length + Math.max(0, n - 1) + Buffer.byteLength(end);
    for (let i = 0; i < n; i++) {
      const p = parts[i]!;
      if (typeof p === 'string') {
        size += Buffer.byteLength(p);
      } else {
        const f = p.fresh(now);
        fresh[i] = f;
        size += p.head.length + f.length + p.tail.length;
      }
    }
    const out = Buffer.allocUnsafe(size);
    let at = out.write(this.open, 0, 'latin1');
    for (let i = 0; i < n; i++) {
      if (i > 0) out[at++] = 0x2c; // ','
      const p = parts[i]!;
      if (typeof p === 'string') {
        at += out.write(p, at, 'utf8');
      } else {
        at += p.head.copy(out, at);
        at += out.write(fresh[i]!, at, 'latin1');
        at += p.tail.copy(out, at);
      }
    }
    at += out.write(end, at, 'utf8');
    return at === size ? out : out.subarray(0, at);
  }

  private make(it: BatchItem, plan: FeaturePlan, lookup: Lookup, version: number): L1Item | null {
    const served = assemble(plan, [lookup], [version], null);
    const item = (head: string, tail: string, oldestEvent: number) =>
      new L1Item(
        plan,
        it.entity_type,
        it.entity_id,
        version,
        Buffer.from(head),
        Buffer.from(tail),
        oldestEvent,
      );
    if (served.metadata.freshness_seconds === null) return item(this.item(batchItem(it, served)), '', NaN);
    served.metadata.freshness_seconds = FRESH_MARK;
    const s = this.item(batchItem(it, served));
    const f = s.lastIndexOf(String(FRESH_MARK));
    if (f < 0) return null;
    return item(s.slice(0, f), s.slice(f + String(FRESH_MARK).length), lookup.value!.eventTime);
  }
}
