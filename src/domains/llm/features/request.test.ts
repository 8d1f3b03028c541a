import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeLine } from '../events/decode.js';
import type { DecodedEvent } from '../events/types.js';
import { CATALOG_ENTRIES as FEATURE_CATALOG, checkValue, featuresOfGroup } from './catalog.js';
import { stableHash01 } from './hash.js';
import {
  codePointCount,
  estimateTokens,
  requestFeatures,
  sessionDepth,
  taskTypeValue,
  timeFeatures,
} from './request.js';

const requests: DecodedEvent[] = readFileSync(
  new URL('../events/fixtures/extended.ndjson', import.meta.url),
  'utf8',
)
  .split('\n')
  .filter((l) => l.length > 0)
  .map((l) => decodeLine(l))
  .flatMap((r) => (r.ok && r.event.type === 'llm_request' ? [r.event] : []));

const WED_10H = Date.UTC(2025, 0, 15, 10, 29, 59, 900); // the fixture's first request

describe('requestFeatures on the fixture', () => {
  it('computes every value of a full request', () => {
    const e = requests[0]!;
    expect(e.ts).toBe(WED_10H);
    const v = requestFeatures(e.body, e.ts);
    const prompt = 'Summarize the attached contract in three bullet points.';
    expect(v.prompt_length).toBeCloseTo(Math.log(100 + 1) / 10, 15);
    expect(v.prompt_char_count).toBeCloseTo(55 / 10_000, 15);
    expect(prompt.length).toBe(55);
    expect(v.prompt_complexity).toBeCloseTo((0.39 * 8 + 11.8 * (13 / 8) - 15.59) / 20, 12);
    expect(v.expected_output_length).toBe(0.5); // output_length: medium
    expect(v.task_type_classification).toBe(1); // summarize
    expect(v.prompt_language).toBe(stableHash01('en'));
    expect(v.prompt_domain).toBeCloseTo(1 / (0.25 * 6), 12); // 'contract' among 6 content terms
    expect(v.request_priority).toBeCloseTo(7 / 10, 15);
    // Wednesday (day 3), 10 h UTC
    expect(v.hour_of_day_cos).toBeCloseTo(Math.cos((2 * Math.PI * 10) / 24), 15);
    expect(v.hour_of_day_sin).toBeCloseTo(Math.sin((2 * Math.PI * 10) / 24), 15);
    expect(v.day_of_week_cos).toBeCloseTo(Math.cos((2 * Math.PI * 3) / 7), 15);
    expect(v.day_of_week_sin).toBeCloseTo(Math.sin((2 * Math.PI * 3) / 7), 15);
    expect(v.is_weekend).toBe(0);
    expect(v.user_tier).toBe(0.5); // pro
  });

  it('is null for every input-dependent value of a bare request', () => {
    const e = requests[1]!;
    const v = requestFeatures(e.body, e.ts);
    for (const name of [
      'prompt_length',
      'prompt_char_count',
      'prompt_complexity',
      'expected_output_length',
      'task_type_classification',
      'prompt_language',
      'prompt_domain',
      'request_priority',
      'user_tier',
    ] as const) {
      expect(v[name], name).toBeNull();
    }
    expect(v.is_weekend).toBe(0);
    expect(v.hour_of_day_cos).toBeCloseTo(Math.cos((2 * Math.PI * 10) / 24), 15);
  });

  it('returns exactly the request group names but session_depth, each valid for its rule', () => {
    for (const e of requests) {
      const v = requestFeatures(e.body, e.ts) as Record<string, number | null>;
      const expected = featuresOfGroup('request')
        .filter((f) => f.id !== 'REQ_014')
        .map((f) => f.name);
      expect(Object.keys(v).sort()).toEqual([...expected].sort());
      for (const f of FEATURE_CATALOG.filter((f) => f.name in v)) {
        expect(checkValue(f.validation, v[f.name]!), f.id).toBeNull();
      }
    }
  });
});

describe('requestFeatures, input by input', () => {
  const ts = Date.UTC(2025, 0, 15, 0);

  it('REQ_001 estimates tokens from the text, and clamps at 1', () => {
    expect(requestFeatures({ prompt: 'hello world' }, ts).prompt_length).toBeCloseTo(
      Math.log(Math.ceil(11 / 4) + 1) / 10,
      15,
    );
    expect(estimateTokens('')).toBe(0);
    expect(requestFeatures({ prompt: '' }, ts).prompt_length).toBe(0);
    // ln(e^10) / 10 = 1: 22026 tokens is the knee; anything above reads 1
    expect(requestFeatures({ prompt_tokens: 1_000_000 }, ts).prompt_length).toBe(1);
    expect(requestFeatures({ prompt_tokens: 0 }, ts).prompt_length).toBe(0);
    // prompt_tokens wins over the text estimate
    expect(requestFeatures({ prompt_tokens: 9, prompt: 'x'.repeat(400) }, ts).prompt_length).toBeCloseTo(
      Math.log(10) / 10,
      15,
    );
  });

  it('REQ_002 counts code points and clamps at 1', () => {
    expect(codePointCount('a😀b')).toBe(3);
    expect(requestFeatures({ prompt: '😀'.repeat(50) }, ts).prompt_char_count).toBeCloseTo(50 / 10_000, 15);
    expect(requestFeatures({ prompt: 'x'.repeat(20_000) }, ts).prompt_char_count).toBe(1);
  });

  it('REQ_003 clamps the grade to [0, 1]', () => {
    // 1 word, 1 sentence, 1 syllable: 0.39 + 11.8 - 15.59 < 0 → 0
    expect(requestFeatures({ prompt: 'Hi.' }, ts).prompt_complexity).toBe(0);
    // one 40-word sentence of 5-syllable words: far above grade 20 → 1
    const hard = Array(40).fill('internationalization').join(' ');
    expect(requestFeatures({ prompt: hard }, ts).prompt_complexity).toBe(1);
    expect(requestFeatures({ prompt: '...' }, ts).prompt_complexity).toBeNull();
  });

  it('REQ_004 prefers the category, else max_tokens', () => {
    const v = (b: Record<string, unknown>) => requestFeatures(b, ts).expected_output_length;
    expect(v({ output_length: 'long', max_tokens: 10 })).toBe(1);
    expect(v({ max_tokens: 256 })).toBe(0);
    expect(v({ max_tokens: 257 })).toBe(0.5);
    expect(v({ max_tokens: 1024 })).toBe(0.5);
    expect(v({ max_tokens: 1025 })).toBe(1);
    expect(v({})).toBeNull();
  });

  it('REQ_005 maps task types, unknown ones to 0.5', () => {
    expect([taskTypeValue('classify'), taskTypeValue('generate'), taskTypeValue('extract')]).toEqual([
      0, 0.33, 0.67,
    ]);
    expect(taskTypeValue('Summarization')).toBe(1);
    expect(taskTypeValue('translate')).toBe(0.5);
    expect(requestFeatures({ task_type: 'unknown' }, ts).task_type_classification).toBe(0.5);
  });

  it('REQ_006 uses the given language, else detects it', () => {
    const en = stableHash01('en');
    expect(requestFeatures({ language: 'EN-gb' }, ts).prompt_language).toBe(en);
    expect(
      requestFeatures({ prompt: 'Please summarize the following report for my manager.' }, ts)
        .prompt_language,
    ).toBe(en);
    expect(
      requestFeatures({ language: 'und', prompt: 'Bitte fasse diesen Bericht für meinen Chef zusammen.' }, ts)
        .prompt_language,
    ).toBe(stableHash01('de'));
    expect(requestFeatures({ prompt: 'ok' }, ts).prompt_language).toBeNull();
  });

  it('REQ_008 and REQ_015', () => {
    expect(requestFeatures({ priority: 10 }, ts).request_priority).toBe(1);
    expect(requestFeatures({ priority: 0 }, ts).request_priority).toBe(0);
    expect(requestFeatures({ priority: 12 }, ts).request_priority).toBe(1);
    expect(requestFeatures({ user_tier: 'free' }, ts).user_tier).toBe(0);
    expect(requestFeatures({ user_tier: 'enterprise' }, ts).user_tier).toBe(1);
    expect(requestFeatures({ user_tier: 'platinum' }, ts).user_tier).toBeNull();
  });

  it('treats wrongly typed fields as missing', () => {
    const v = requestFeatures({ prompt: 42, prompt_tokens: 'many', priority: Number.NaN }, ts);
    expect([v.prompt_length, v.prompt_char_count, v.request_priority]).toEqual([null, null, null]);
  });
});

describe('timeFeatures (REQ_009–REQ_013)', () => {
  it('uses the UTC hour and Sunday = 0', () => {
    // 2025-01-18 is a Saturday (day 6); 06:59 → hour 6
    const sat = timeFeatures(Date.UTC(2025, 0, 18, 6, 59));
    expect(sat.hour_of_day_cos).toBeCloseTo(Math.cos((2 * Math.PI * 6) / 24), 15);
    expect(sat.hour_of_day_sin).toBeCloseTo(1, 15);
    expect(sat.day_of_week_cos).toBeCloseTo(Math.cos((2 * Math.PI * 6) / 7), 15);
    expect(sat.is_weekend).toBe(1);
    const sun = timeFeatures(Date.UTC(2025, 0, 19, 23));
    expect(sun.day_of_week_cos).toBe(1);
    expect(sun.day_of_week_sin).toBe(0);
    expect(sun.is_weekend).toBe(1);
    expect(timeFeatures(Date.UTC(2025, 0, 20, 0)).is_weekend).toBe(0); // Monday
  });
  it('agrees with Date for times before 1970', () => {
    for (const ts of [-1, -86_400_000 * 3 - 5, Date.UTC(1969, 6, 20, 20, 17)]) {
      const d = new Date(ts);
      const f = timeFeatures(ts);
      expect(f.hour_of_day_cos).toBeCloseTo(Math.cos((2 * Math.PI * d.getUTCHours()) / 24), 15);
      expect(f.day_of_week_sin).toBeCloseTo(Math.sin((2 * Math.PI * d.getUTCDay()) / 7), 15);
    }
  });
});

describe('sessionDepth (REQ_014)', () => {
  it('is ln(1 + n) / ln(101), max 1', () => {
    expect(sessionDepth(0)).toBe(0);
    expect(sessionDepth(10)).toBeCloseTo(Math.log(11) / Math.log(101), 15);
    expect(sessionDepth(100)).toBeCloseTo(1, 15);
    expect(sessionDepth(1000)).toBe(1);
    expect(sessionDepth(-3)).toBe(0);
  });
});
