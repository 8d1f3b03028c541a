/**
 * A source as the job loop sees it, after Bytewax's `FixedPartitionedSource`: its **parts**
 * (`list_parts`), reading a part from a **position** (`build_part(…, resume_state)`), and the
 * position's **encoding** (`snapshot()`), which the engine keeps with each checkpoint (as Arroyo
 * keeps a source's position in state the engine owns). The engine — not the source — decides
 * when a position is committed: a file run in its commit record and its shards' checkpoint meta,
 * a Kafka member in the group's committed offsets and their metadata.
 *
 * Two drivers: files (`file-driver.ts`: one part, a byte offset and line) and Kafka
 * (`kafka/kafka-driver.ts`: one part per source partition, an offset with the partition's clock
 * and end flag). Kafka's rebalances, repartition topic and changelog restore stay its own: its
 * parts change with the group's assignment, and kafkajs pushes their batches (`eachBatch`), so
 * reading a Kafka part from a position seeks the consumer rather than returning the batches.
 */
export interface SourceDriver<Position, Reading> {
  /** The parts this process reads (a file: `[0]`; Kafka: the assigned source partitions). */
  parts(): readonly number[];
  /** The position a part starts from when nothing was committed. */
  start(part: number): Position;
  /** Reads `part` from `from` on: a file's batches; Kafka: the consumer seeks (kafkajs delivers). */
  read(part: number, from: Position): Reading;
  /** A position as the engine commits it: where to resume (`offset`) and what goes with it (`meta`). */
  encodePosition(position: Position): EncodedPosition;
  /** A committed position, or null when there is none or it is not this driver's. */
  decodePosition(encoded: EncodedPosition | null | undefined): Position | null;
}

/** A committed position: an offset (bytes, a Kafka offset) and the text that goes with it. */
export interface EncodedPosition {
  readonly offset: string;
  readonly meta: string | null;
}
