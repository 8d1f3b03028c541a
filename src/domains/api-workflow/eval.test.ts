import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateWorkflow } from './eval.js';

describe('workflow eval', () => {
  it('score beats the popularity baseline on hit@3 on held-out sessions; training rows export', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-wf-eval-'));
    const r = evaluateWorkflow({ events: 3_000, seed: 5, exportDir: dir });
    console.log(JSON.stringify({ ...r, ranker: undefined }));
    expect(r.testQueries).toBeGreaterThan(400);
    expect(r.score.hit3).toBeGreaterThan(r.popularity.hit3);
    expect(r.score.mrr).toBeGreaterThan(r.popularity.mrr);
    const csv = readFileSync(join(dir, 'train.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe(
      'query,label,semantic_similarity,bigram_prob,trigram_prob,transition_prob,pattern_confidence,resource_continuity,method_prior,candidate_popularity,recency,session_position,cold_start',
    );
    const groups = readFileSync(join(dir, 'train.tsv.query'), 'utf8').trim().split('\n').map(Number);
    expect(groups.reduce((a, b) => a + b, 0)).toBe(csv.length - 1);
    expect(groups.length).toBe(r.trainQueries);
    // Every query group holds the next call: exactly one positive per group, in the CSV and in
    // LightGBM's TSV (label first), whose rows follow the .query sizes in order.
    const positives = new Map<string, number>();
    for (const line of csv.slice(1)) {
      const [q, label] = line.split(',');
      expect(['0', '1']).toContain(label);
      positives.set(q!, (positives.get(q!) ?? 0) + Number(label));
    }
    expect(positives.size).toBe(groups.length);
    expect([...positives.values()].every((n) => n === 1)).toBe(true);
    const tsv = readFileSync(join(dir, 'train.tsv'), 'utf8').trim().split('\n');
    expect(tsv.length).toBe(csv.length - 1);
    let at = 0;
    for (const size of groups) {
      const labels = tsv.slice(at, at + size).map((l) => Number(l.split('\t')[0]));
      expect(labels.filter((x) => x === 1).length).toBe(1);
      at += size;
    }
  });
});
