import type { DriftHistogram, FeatureDrift } from './assess.js';
import { bandsText, type DriftReport, type DriftReportResult } from './report.js';

/** Output formats of `featurestream drift`. */
export type DriftFormat = 'json' | 'html' | 'text';
export const DRIFT_FORMATS: readonly DriftFormat[] = ['json', 'html', 'text'];

/**
 * Renders a drift report: `json` (the report object, pretty-printed), `text` (one line per
 * entity and feature, drifted first) or `html` (one self-contained page: inline CSS and an inline
 * SVG histogram per feature, reference vs current; no script, no network).
 *
 * @example
 * writeFileSync('drift.html', renderDriftReport(await buildDriftReport(store, opts), 'html'));
 */
export function renderDriftReport(result: DriftReportResult, format: DriftFormat): string {
  if (format === 'json') return `${JSON.stringify(result.report, null, 2)}\n`;
  if (format === 'text') return renderText(result.report);
  return renderHtml(result);
}

const num = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined
    ? '–'
    : Math.abs(x) < 1e-3 && x !== 0
      ? x.toExponential(1)
      : x.toFixed(digits);

function renderText(r: DriftReport): string {
  const head = [
    `drift report — group ${r.group}${r.version === null ? '' : ` v${r.version}`}`,
    `  reference ${r.reference.from} … ${r.reference.to} (${r.reference.rows} rows)`,
    `  current   ${r.current.from} … ${r.current.to} (${r.current.rows} rows)`,
    `  ${r.summary.drift} drift, ${r.summary.possible_drift} possible drift, ${r.summary.no_drift} no drift, ${r.summary.insufficient_data} insufficient data`,
    '',
  ];
  // A statistic shown but not counted toward the status is marked `*` (footnote below).
  let marked = false;
  const rows = r.features.map((f) => {
    const off = (stat: string) => {
      const not = f.not_counted.some((n) => n.startsWith(`${stat}:`));
      if (not) marked = true;
      return not ? '*' : '';
    };
    return [
      f.status,
      f.severity,
      f.entity_id,
      f.feature,
      `${f.n_reference}/${f.n_current}`,
      f.kind === 'numeric'
        ? `ks ${num(f.ks?.statistic)} p ${num(f.ks?.p_value)}${off('ks')}`
        : `χ² p ${num(f.chi2?.p_value)}`,
      f.kind === 'numeric' ? `w ${num(f.wasserstein)}${off('wasserstein')}` : `js ${num(f.js)}`,
      `psi ${num(f.psi)}${off('psi')}`,
      f.kind === 'numeric' ? `z ${num(f.z, 2)}` : '',
    ];
  });
  const footnote = marked
    ? [
        '* shown, not counted toward the status: PSI on samples too small for its bins (its noise alone',
        '  would pass the bands), KS when the reference has more than 1000 values, Wasserstein when not',
        '  (the JSON report says why per row, in not_counted)',
      ]
    : [];
  const header = ['status', 'severity', 'entity', 'feature', 'n ref/cur', 'test', 'distance', 'psi', 'z'];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const lines = all.map((row) =>
    row
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  return `${[...head, ...lines, '', ...footnote, `bands: ${bandsText(r.min_samples)}`].join('\n')}\n`;
}

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STATUS_COLOUR: Record<FeatureDrift['status'], string> = {
  drift: '#c62828',
  possible_drift: '#ef6c00',
  no_drift: '#2e7d32',
  insufficient_data: '#757575',
};

/** A histogram as inline SVG: reference bars (blue) and current bars (orange) side by side. */
export function histogramSvg(h: DriftHistogram, title: string): string {
  const W = 360;
  const H = 150;
  const pad = { l: 34, r: 8, t: 8, b: 28 };
  const bins = h.reference.length;
  const max = Math.max(1e-12, ...h.reference, ...h.current);
  const bw = bins === 0 ? 0 : (W - pad.l - pad.r) / bins;
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const bars: string[] = [];
  for (let i = 0; i < bins; i++) {
    const x = pad.l + i * bw;
    for (const [k, v, colour] of [
      [0, h.reference[i]!, '#1565c0'],
      [1, h.current[i]!, '#ef6c00'],
    ] as const) {
      const top = y(v);
      bars.push(
        `<rect class="${k === 0 ? 'ref' : 'cur'}" x="${(x + (k * bw) / 2).toFixed(2)}" y="${top.toFixed(2)}" width="${Math.max(0.5, bw / 2 - 0.5).toFixed(2)}" height="${(H - pad.b - top).toFixed(2)}" fill="${colour}" fill-opacity="0.8"><title>${k === 0 ? 'reference' : 'current'} ${(100 * v).toFixed(1)}%</title></rect>`,
      );
    }
  }
  const lo = h.edges[0];
  const hi = h.edges[h.edges.length - 1];
  const axis =
    `<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#333"/>` +
    `<text x="${pad.l}" y="${H - pad.b + 14}" font-size="10">${esc(num(lo ?? null, 4))}</text>` +
    `<text x="${W - pad.r}" y="${H - pad.b + 14}" font-size="10" text-anchor="end">${esc(num(hi ?? null, 4))}</text>` +
    `<text x="2" y="${pad.t + 8}" font-size="10">${(100 * max).toFixed(0)}%</text>` +
    `<text x="${W / 2}" y="${H - 4}" font-size="10" text-anchor="middle"><tspan fill="#1565c0">■</tspan> reference <tspan fill="#ef6c00">■</tspan> current</text>`;
  return `<svg class="histogram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${bars.join('')}${axis}</svg>`;
}

function renderHtml({ report: r, histograms }: DriftReportResult): string {
  const cards = r.features.map((f, i) => {
    const stats =
      f.kind === 'numeric'
        ? `KS D ${num(f.ks?.statistic)} (p ${num(f.ks?.p_value)}) · Wasserstein/σ ${num(f.wasserstein)} · PSI ${num(f.psi)} · z ${num(f.z, 2)}`
        : `χ² ${num(f.chi2?.statistic)} (df ${f.chi2?.df ?? '–'}, p ${num(f.chi2?.p_value)}) · JS ${num(f.js)} · PSI ${num(f.psi)}`;
    return `<section class="feature ${f.status}">
<h2><span class="badge" style="background:${STATUS_COLOUR[f.status]}">${f.status.replace('_', ' ')}${f.severity === 'none' ? '' : ` · ${f.severity}`}</span> ${esc(f.feature)} <small>${esc(f.entity_id)}</small></h2>
${histogramSvg(histograms[i]!, `${f.feature} of ${f.entity_id}: reference vs current`)}
<p class="stats">${esc(stats)}<br>n reference ${f.n_reference} · n current ${f.n_current}${f.reasons.length === 0 ? '' : ` · ${esc(f.reasons.join('; '))}`}${f.not_counted.length === 0 ? '' : `<br>not counted toward the status: ${esc(f.not_counted.join('; '))}`}</p>
</section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Drift report — ${esc(r.group)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;background:#fafafa}
h1{font-size:1.4rem;margin:0 0 .3rem}
.meta{color:#555;margin:0 0 1rem}
.grid{display:flex;flex-wrap:wrap;gap:1rem}
.feature{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.6rem .8rem;width:380px}
.feature.drift{border-color:#c62828}
.feature h2{font-size:1rem;margin:0 0 .4rem}
.feature small{color:#666;font-weight:normal}
.badge{color:#fff;border-radius:3px;padding:0 .35rem;font-size:.75rem;vertical-align:middle}
.stats{font-size:.8rem;color:#444;margin:.3rem 0 0}
footer{margin-top:1.5rem;font-size:.75rem;color:#666}
</style></head>
<body>
<h1>Drift report — ${esc(r.group)}${r.version === null ? '' : ` v${r.version}`}</h1>
<p class="meta">Reference ${esc(r.reference.from)} … ${esc(r.reference.to)} (${r.reference.rows} rows) · current ${esc(r.current.from)} … ${esc(r.current.to)} (${r.current.rows} rows)<br>
<strong>${r.summary.drift}</strong> drift · ${r.summary.possible_drift} possible drift · ${r.summary.no_drift} no drift · ${r.summary.insufficient_data} insufficient data</p>
<div class="grid">
${cards.join('\n')}
</div>
<footer>Bands: ${esc(bandsText(r.min_samples))}. Generated ${esc(r.generated_at)} by featurestream drift.</footer>
</body></html>
`;
}
