import { Command } from 'commander';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../shared/errors.js';
import { kafkaJobOptions, registerKafkaOptions } from './kafka.js';

const logger = pino({ level: 'silent' });

describe('featurestream run --kafka flags', () => {
  it('parse into job options', async () => {
    const cmd = registerKafkaOptions(new Command('run').exitOverride());
    cmd.parse(
      [
        '--kafka',
        'k1:9092, k2:9092',
        '--topic',
        'feedback-events',
        '--group',
        'g',
        '--stop-at-end',
        '--format',
        'json',
      ],
      { from: 'user' },
    );
    const o = await kafkaJobOptions({ ...cmd.opts(), stateDir: '/tmp/s', checkpointInterval: 500 }, logger);
    expect(o.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(o.topic).toBe('feedback-events');
    expect(o.stopAtEnd).toBe(true);
    expect(o.format).toBe('json');
    expect(o.topicKey).toBe('id');
    expect(o.checkpointIntervalMs).toBe(500);
    expect(o.topology.name).toBe('llm-features');
    expect(o.repartitionCompression).toBe('none');
  });

  it('take --repartition-compression gzip and refuse an unknown codec', async () => {
    const base = ['--kafka', 'k:9092', '--topic', 't', '--group', 'g'];
    const cmd = registerKafkaOptions(new Command('run').exitOverride());
    cmd.parse([...base, '--repartition-compression', 'gzip'], { from: 'user' });
    expect((await kafkaJobOptions(cmd.opts(), logger)).repartitionCompression).toBe('gzip');
    const bad = registerKafkaOptions(new Command('run').exitOverride()).configureOutput({
      writeErr: () => {},
    });
    expect(() => bad.parse([...base, '--repartition-compression', 'zip'], { from: 'user' })).toThrow(
      /repartition-compression.*zip/,
    );
  });

  it.each([
    [{ topic: 't', group: 'g' }, '--kafka'],
    [{ kafka: 'k:1', group: 'g' }, '--topic'],
    [{ kafka: 'k:1', topic: 't' }, '--group'],
    [{ kafka: 'nohostport', topic: 't', group: 'g' }, '--kafka'],
    [{ kafka: 'k:1', topic: 't', group: 'g', topology: 'nope' }, '--topology'],
  ])('name the flag that is wrong (%o)', async (flags, field) => {
    let err: unknown = null;
    try {
      await kafkaJobOptions(flags, logger);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe(field);
  });
});
