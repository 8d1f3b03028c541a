import type { FeatureRow } from '../../operators/operator.js';
import type { Topology } from '../../topology/nodes.js';
import type { ProviderStats } from '../../operators/providers.js';

/**
 * The typed message protocol between the coordinator (main thread) and shard actors (piscina
 * workers): one discriminated union each way. Every request names its shard; the pool's
 * affinity balancer keeps a shard on one worker, so a shard's state never crosses threads.
 */

/** The records of one keyed branch for one shard, in columns (see operators' RecordBatch). */
export interface EncodedBranch {
  readonly count: number;
  readonly width: number;
  /**
   * The distinct strings of the branch's keys and attributes: records carry indices into it, so a
   * batch of thousands of records with a few distinct keys crosses threads (and Kafka) as a few
   * strings instead of thousands.
   */
  readonly dict: string[];
  /** Record i's key is `dict[keys[i]]`. */
  readonly keys: Float64Array;
  /** The map's string attributes per record, flattened, as `dict` indices: record i's are `attrs[i*n … i*n+n-1]` for n attributes. */
  readonly attrs: Float64Array;
  readonly ts: Float64Array;
  readonly clock: Float64Array;
  readonly values: Float64Array;
  /** Global source line numbers of the records, to report late ones. */
  readonly refs: Float64Array;
}

/** Rows validated and formatted where they fired (see `rowsAsLines`). */
export interface RowLines {
  /** The file sink's lines of the validated rows, in order, each ending in a newline. */
  readonly text: string;
  /** Values replaced by null, by `name:reason`. */
  readonly invalid: Record<string, number>;
  /** Rows by feature group. */
  readonly byGroup: Record<string, number>;
}

export type ShardRequest =
  | {
      readonly type: 'open';
      readonly shard: number;
      readonly topology: Topology;
      /** LevelDB location for this shard, or null for in-memory state. */
      readonly location: string | null;
      /** The coordinator's last committed checkpoint (0 = none). */
      readonly committedId: number;
    }
  | {
      /** Decode, validate, run the stateless chains and route a batch of lines (any worker). */
      readonly type: 'decode';
      /** Decode requests are not bound to a shard; -1. */
      readonly shard: -1;
      readonly runId: string;
      /**
       * The topology as JSON text: sent with every batch (any worker may take it), and a string
       * is copied where an object graph would be cloned; workers parse it once per run.
       */
      readonly topologyJson: string;
      readonly shards: number;
      /**
       * The lines' UTF-8 bytes (shared memory: a file batch, or a Kafka batch's message values);
       * line i is `bytes[starts[i], ends[i])`.
       */
      readonly bytes: Uint8Array;
      readonly starts: Int32Array;
      readonly ends: Int32Array;
      readonly firstLine: number;
      /** The run's options of each provider the topology needs, by provider name (`operators/providers.ts`). */
      readonly providerOptions: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
    }
  | {
      readonly type: 'process';
      readonly shard: number;
      /** Decoded batches in source order. */
      readonly chunks: ProcessChunk[];
      /** The event-time clock after the last record sent so far: windows fire up to it. */
      readonly endClock: number;
      /** Processing time, for early firing. */
      readonly now: number;
      /**
       * Validate the output rows against the topology's registry rules and format them as the
       * file sink's lines here, returning lines and counts instead of row objects (the
       * coordinator sets it when lines are all it writes).
       */
      readonly rowsAsLines?: boolean;
    }
  | {
      readonly type: 'checkpoint';
      readonly shard: number;
      readonly id: number;
      /** Source positions covered by this checkpoint, stored with the state in one batch. */
      readonly meta: Readonly<Record<string, string>>;
      /** Return the changed entries too (a Kafka member also writes them to its changelog). */
      readonly withChanges?: boolean;
    }
  | { readonly type: 'commit'; readonly shard: number; readonly id: number }
  | { readonly type: 'close'; readonly shard: number };

/** One decoded batch's records for one shard. */
export interface ProcessChunk {
  /** One entry per keyed branch of the plan (null when the branch has no records). */
  readonly branches: Array<EncodedBranch | null>;
  /** The event-time clock at the start of the batch; each record's clock is max(this, its in-batch clock). */
  readonly baseClock: number;
}

/** What the decode stage returns for a batch of lines. */
export interface DecodedBatch {
  readonly type: 'decoded';
  /** Non-blank lines. */
  readonly events: number;
  /** Dead letters: [index in the batch, reason code, detail]. */
  readonly dl: Array<[number, string, string]>;
  /** Greatest event time of the valid events (−∞ if none). */
  readonly maxTs: number;
  /** What this batch asked of the providers: distinct keys resolved and how many a cache had. */
  readonly provided?: ProviderStats;
  /** Per shard (null: nothing for it), per keyed branch. */
  readonly perShard: Array<Array<EncodedBranch | null> | null>;
}

/** A late record: global line number, window operator id, event time. */
export type LateRef = readonly [number, string, number];

export type ShardResponse =
  | DecodedBatch
  | {
      readonly type: 'opened';
      readonly shard: number;
      readonly restoredKeys: number;
      readonly meta: Record<string, string>;
    }
  | {
      readonly type: 'output';
      readonly shard: number;
      /** The rows fired (empty with `rowsAsLines`: see `lines`). */
      readonly rows: FeatureRow[];
      readonly late: LateRef[];
      /** With `rowsAsLines`: the validated rows as file-sink lines, and their counts. */
      readonly lines?: RowLines;
    }
  | {
      readonly type: 'checkpointed';
      readonly shard: number;
      readonly id: number;
      readonly changedEntries: number;
      /** With `withChanges`: `operatorId/key` → value, or null for a delete. */
      readonly changes?: Array<[string, string | null]>;
    }
  | { readonly type: 'ok'; readonly shard: number };
