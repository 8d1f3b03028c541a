import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/errors.js';
import { PayloadDecoder, rawText } from './payload.js';

describe('PayloadDecoder', () => {
  it('passes JSON through as a line and refuses empty messages', async () => {
    const d = new PayloadDecoder({ format: 'auto' });
    const r = await d.decode([Buffer.from('{"type":"x"}'), null, Buffer.alloc(0)]);
    expect(r.line(0)).toBe('{"type":"x"}');
    expect(r.failures).toEqual([
      [1, 'not_json', expect.stringContaining('empty message')],
      [2, 'not_json', expect.stringContaining('empty message')],
    ]);
  });

  it('takes a value starting with byte 0 for a schema-registry frame', async () => {
    const d = new PayloadDecoder({ format: 'auto' });
    const framed = Buffer.from([0, 0, 0, 0, 7, 1, 2]);
    const r = await d.decode([framed, Buffer.from([0, 1])]);
    expect([r.line(0), r.line(1)]).toEqual(['', '']);
    expect(r.failures[0]).toEqual([0, 'unknown_schema', expect.stringContaining('schema id 7')]);
    expect(r.failures[1]).toEqual([1, 'bad_payload', expect.stringContaining('not a schema-registry frame')]);
  });

  it('with --format json, a leading 0 byte is just bad JSON', async () => {
    const d = new PayloadDecoder({ format: 'json' });
    const r = await d.decode([Buffer.from([0, 0, 0, 0, 7])]);
    expect(r.failures).toEqual([]);
    expect(r.line(0).length).toBe(5);
  });

  it('puts a released batch’s shared memory under a later batch, and only a released one', async () => {
    const d = new PayloadDecoder({ format: 'auto' });
    const a = await d.decode([Buffer.from('{"n":1}'), Buffer.from('{"n":2}')]);
    const b = await d.decode([Buffer.from('{"n":3}')]);
    expect(b.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(b.bytes.buffer).not.toBe(a.bytes.buffer);
    d.release(a);
    const c = await d.decode([Buffer.from('{"n":4}'), Buffer.from('{"longer":5}')]);
    expect(c.bytes.buffer).toBe(a.bytes.buffer);
    expect([c.line(0), c.line(1)]).toEqual(['{"n":4}', '{"longer":5}']);
    expect(b.line(0)).toBe('{"n":3}');
  });

  it('checks its configuration', () => {
    expect(() => new PayloadDecoder({ format: 'registry' })).toThrow(ConfigError);
    expect(() => new PayloadDecoder({ format: 'auto', registryUrl: 'registry:8081' })).toThrow(/http/);
  });
});

describe('rawText', () => {
  it('keeps UTF-8 text and base64-encodes the rest', () => {
    expect(rawText(Buffer.from('héllo'))).toEqual({ raw: 'héllo' });
    expect(rawText(Buffer.from([0xff, 0xfe]))).toEqual({ raw: null, rawBase64: '//4=' });
    expect(rawText(Buffer.from([0, 1]))).toEqual({ raw: null, rawBase64: 'AAE=' });
    expect(rawText(null)).toEqual({ raw: null });
  });
});
