import { describe, expect, it } from 'vitest';
import { renderDriftReport } from './render.js';
import type { DriftReportResult } from './report.js';

const result = (minSamples: number): DriftReportResult => ({
  report: {
    group: 'perf_5min',
    version: 1,
    reference: { from: '2026-03-02T00:00:00.000Z', to: '2026-03-02T01:00:00.000Z', rows: 0 },
    current: { from: '2026-03-02T01:00:00.000Z', to: '2026-03-02T02:00:00.000Z', rows: 0 },
    generated_at: '2026-03-02T03:00:00.000Z',
    min_samples: minSamples,
    summary: { drift: 0, possible_drift: 0, no_drift: 0, insufficient_data: 0 },
    features: [],
  },
  histograms: [],
});

describe('drift report bands', () => {
  it('names the --min-samples the report was drawn with, in text and HTML', () => {
    expect(renderDriftReport(result(10), 'text')).toMatch(/fewer than 10 values: insufficient data/);
    expect(renderDriftReport(result(10), 'text')).not.toMatch(/fewer than 20 values/);
    expect(renderDriftReport(result(20), 'text')).toMatch(/fewer than 20 values: insufficient data/);
    expect(renderDriftReport(result(7), 'html')).toMatch(/fewer than 7 values: insufficient data/);
  });
});
