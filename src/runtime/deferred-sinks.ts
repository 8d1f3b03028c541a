import type { FeatureRow } from '../../operators/operator.js';
import type { DeadLetterRecord, LateRecord, RowSink } from './sink.js';

/**
 * Sinks still opening, as one sink the run can start with: every call waits for them to be open
 * and then goes to each, side by side (each sink's calls stay in order). The embedded default
 * opens PGlite this way (~1.5 s of start-up) while its first batches are decoded; a sink that
 * fails to open fails the run at its first write or checkpoint, like any failed write. Runs with
 * external stores open them before they start, so a bad URL or an unreachable store fails there.
 *
 * @example
 * const sinks = [deferredSinks(openSinks(online, offline, 'llm-features', logger, set), 'stores')];
 */
export function deferredSinks(opening: Promise<readonly RowSink[]>, name: string): RowSink {
  opening.catch(() => undefined); // awaited by the first call
  const each = async (call: (sink: RowSink) => Promise<void> | undefined): Promise<void> => {
    const sinks = await opening;
    await Promise.all(sinks.map(call));
  };
  return {
    name,
    write: (rows: readonly FeatureRow[]) => each((s) => s.write(rows)),
    writeDeadLetters: (entries: readonly DeadLetterRecord[]) => each((s) => s.writeDeadLetters?.(entries)),
    writeLate: (entries: readonly LateRecord[]) => each((s) => s.writeLate?.(entries)),
    flush: () => each((s) => s.flush()),
    async close() {
      const sinks = await opening.catch(() => [] as readonly RowSink[]);
      await Promise.all(sinks.map((s) => s.close()));
    },
  };
}
