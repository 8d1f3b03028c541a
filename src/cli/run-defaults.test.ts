import { describe, expect, it } from 'vitest';
import { DEFAULT_SHARDS, defaultWorkers, earlyPoolSizes } from './run-defaults.js';

const defaults = { workers: defaultWorkers(), shards: DEFAULT_SHARDS };

describe('earlyPoolSizes: the pool a command line asks for, read off its arguments alone', () => {
  it('gives the defaults, or the sizes given as flags in either form', () => {
    expect(earlyPoolSizes(['run'], {})).toEqual(defaults);
    expect(earlyPoolSizes(['run', '--input', 'e.ndjson', '--out', 'r.ndjson'], {})).toEqual(defaults);
    expect(earlyPoolSizes(['run', '--workers', '3', '--shards=16'], {})).toEqual({ workers: 3, shards: 16 });
    expect(earlyPoolSizes(['run', '--workers=1', '--shards', '2', '--fresh'], { HOME: '/h' })).toEqual({
      workers: 1,
      shards: 2,
    });
  });

  it('gives null when the command is not a plain file run or the arguments alone do not say', () => {
    expect(earlyPoolSizes([], {})).toBeNull();
    expect(earlyPoolSizes(['serve', '--workers', '2'], {})).toBeNull();
    expect(earlyPoolSizes(['run', '--help'], {})).toBeNull();
    expect(earlyPoolSizes(['run', '-h'], {})).toBeNull();
    expect(earlyPoolSizes(['run', '--kafka', '127.0.0.1:9092'], {})).toBeNull();
    expect(earlyPoolSizes(['run', '--kafka=127.0.0.1:9092'], {})).toBeNull();
    expect(earlyPoolSizes(['run', '--config', 'fs.yaml'], {})).toBeNull();
    expect(earlyPoolSizes(['run'], { FEATURESTREAM_CONFIG: 'fs.yaml' })).toBeNull();
    expect(earlyPoolSizes(['run'], { FEATURESTREAM_KAFKA: '127.0.0.1:9092' })).toBeNull();
    expect(earlyPoolSizes(['run'], { FEATURESTREAM_RUN_WORKERS: '3' })).toBeNull();
    // Bad values: the command itself reports them.
    expect(earlyPoolSizes(['run', '--workers', 'many'], {})).toBeNull();
    expect(earlyPoolSizes(['run', '--shards', '0'], {})).toBeNull();
    expect(earlyPoolSizes(['run', '--workers'], {})).toBeNull();
  });
});
