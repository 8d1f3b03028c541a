import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/**
 * Writes lines as NDJSON to `path` (gzip when it ends in `.gz`), in chunks of 1,024 lines, and
 * returns the bytes written before compression. The generators' file writers share it.
 *
 * @example
 * const bytes = await writeNdjsonLines('events.ndjson.gz', generateLlmEvents({ events: 1000, seed: 1 }));
 */
export async function writeNdjsonLines(path: string, lines: Iterable<string>): Promise<number> {
  let bytes = 0;
  function* chunks(): Generator<string, void, undefined> {
    let buf: string[] = [];
    const flush = () => {
      const chunk = `${buf.join('\n')}\n`;
      bytes += Buffer.byteLength(chunk);
      buf = [];
      return chunk;
    };
    for (const l of lines) {
      buf.push(l);
      if (buf.length === 1024) yield flush();
    }
    if (buf.length > 0) yield flush();
  }
  const source = Readable.from(chunks());
  const sink = createWriteStream(path);
  if (path.endsWith('.gz')) await pipeline(source, createGzip(), sink);
  else await pipeline(source, sink);
  return bytes;
}
