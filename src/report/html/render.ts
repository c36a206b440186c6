/**
 * The HTML report: one self-contained page (inline CSS, SVG charts, PNG data URLs, no script)
 * that a CI system can keep as an artifact and anyone can open offline.
 */
import { formatEpsilon } from '../epsilon.js';
import { curveChart } from './chart.js';
import type { CurveSeries, GalleryEntry, ReportDocument, ReportSection } from './document.js';

export async function renderReport(doc: ReportDocument): Promise<string> {
  const sections = await Promise.all(doc.sections.map((s, i) => section(s, i, doc.classNames)));
  const failed = doc.sections.filter((s) => s.verdict === 'fail').length;
  const judged = doc.sections.some((s) => s.verdict !== null);
  const tone = failed > 0 ? ' failed' : judged ? ' passed' : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${esc(doc.title)}</h1>
${doc.summary ? `<p class="summary${tone}">${esc(doc.summary)}</p>` : ''}
${environment(doc)}
</header>
<main>
${sections.join('\n')}
</main>
</body>
</html>
`;
}

function environment(doc: ReportDocument): string {
  const env = doc.environment;
  const rows: [string, string][] = [
    ['seed', env.seed === null ? '—' : String(env.seed)],
    ['backend', env.backend],
    ...(env.engine ? ([['engine', env.engine]] as [string, string][]) : []),
    ...Object.entries(env.versions),
    ['written', doc.generated],
    ...(env.command ? ([['replay', env.command]] as [string, string][]) : []),
  ];
  return `<table class="environment">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td${k === 'replay' ? ' class="command"' : ''} data-key="${esc(k)}">${esc(v)}</td></tr>`).join('')}</table>`;
}

async function section(s: ReportSection, i: number, classNames: string[] | undefined): Promise<string> {
  const series = s.worstCase && s.curves.length > 1 ? [...s.curves, s.worstCase] : s.curves;
  const drawable = series.some((c) => c.epsilons.length > 0);
  const chart = drawable ? await curveChart(series, { cleanAccuracy: s.cleanAccuracy, worstCase: s.worstCase?.name, bounds: s.bounds }) : '';
  const verdict = s.verdict === null ? '' : `<span class="verdict ${s.verdict}">${s.verdict === 'pass' ? 'pass' : 'FAIL'}</span>`;
  const facts = [
    s.required ? `required ${s.measure} ${s.required}` : null,
    s.count !== undefined ? `${s.count} inputs` : null,
    s.norm ? `norm ${s.norm}` : null,
    s.seed === null ? null : `seed ${s.seed}`,
  ].filter((f): f is string => f !== null);
  return `<section id="s${i}" data-verdict="${s.verdict ?? 'none'}">
<h2>${verdict}${esc(s.title)}</h2>
<p class="subtitle">${esc(s.subtitle)}</p>
${facts.length > 0 ? `<p class="facts">${esc(facts.join(' · '))}</p>` : ''}
${s.flags && s.flags.length > 0 ? `<ul class="flags">${s.flags.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>` : ''}
<div class="body">
${chart ? `<figure class="chart">${chart}</figure>` : ''}
${accuracyTable(s, series)}
</div>
${s.picture ? `<p class="picture">picture: <code>${esc(s.picture)}</code></p>` : ''}
${gallery(s.gallery, s.bounds, classNames)}
</section>`;
}

function accuracyTable(s: ReportSection, series: readonly CurveSeries[]): string {
  if (series.length === 0) {
    // No curve (fuzzing, invariance): the clean share and the measured one.
    const measured = s.measured === undefined ? '' : `<tr class="measured"><th>${esc(s.measure)}</th><td data-measured>${fixed(s.measured)}</td></tr>`;
    return `<table class="accuracy"><tbody><tr class="clean"><th>clean</th><td data-clean>${fixed(s.cleanAccuracy)}</td></tr>${measured}</tbody></table>`;
  }
  const epsilons = [...new Set(series.flatMap((c) => c.epsilons))].sort((a, b) => a - b);
  const certified = s.certified;
  const head = ['ε', ...series.map((c) => c.name), ...(certified ? [`certified (${certified.method})`] : [])];
  const cell = (c: CurveSeries, e: number): string => {
    const k = c.epsilons.indexOf(e);
    return k < 0 ? '<td>—</td>' : `<td data-series="${esc(c.name)}" data-epsilon="${e}">${fixed(c.robustAccuracy[k]!)}</td>`;
  };
  const bracket = (e: number): string => {
    if (!certified) return '';
    const k = certified.epsilons.indexOf(e);
    return k < 0 ? '<td>—</td>' : `<td class="bracket" data-epsilon="${e}">${fixed(certified.certified[k]!)} ≤ · ≤ ${fixed(certified.notFalsified[k]!)}</td>`;
  };
  const clean = `<tr class="clean"><th>clean</th>${series.map(() => `<td data-clean>${fixed(s.cleanAccuracy)}</td>`).join('')}${certified ? '<td></td>' : ''}</tr>`;
  const rows = epsilons.map((e) => `<tr><th>${esc(formatEpsilon(e, s.bounds))}</th>${series.map((c) => cell(c, e)).join('')}${bracket(e)}</tr>`);
  const measure = s.measure === 'robust accuracy' ? '' : `<caption>${esc(s.measure)}</caption>`;
  return `<table class="accuracy">${measure}<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${clean}${rows.join('')}</tbody></table>`;
}

function gallery(items: readonly GalleryEntry[], bounds: [number, number] | undefined, classNames: string[] | undefined): string {
  if (items.length === 0) return '';
  const name = (k: number | null): string => (k === null ? '?' : classNames?.[k] && classNames[k] !== String(k) ? `${k} ${classNames[k]}` : String(k));
  const figures = items.map((g) => {
    const found = [g.attack, g.epsilon === undefined || g.epsilon === null ? null : `ε ${formatEpsilon(g.epsilon, bounds)}`].filter(Boolean).join(' at ');
    return `<figure class="counterexample" data-index="${g.index}">
<div class="panels"><img src="${g.original}" alt="original input ${g.index}"><img src="${g.perturbation}" alt="perturbation, amplified ×${g.amplification.toPrecision(3)}"><img src="${g.adversarial}" alt="adversarial input ${g.index}"></div>
<figcaption>#${g.index}: <b>${esc(name(g.label))}</b> → <b class="adv">${esc(name(g.adversarialClass))}</b>${g.confidence === null ? '' : ` (p ${fixed(g.confidence)})`}<br>L∞ ${size(g.linf)} · L2 ${size(g.l2)} · L0 ${g.l0} · δ shown ×${g.amplification.toPrecision(3)}${found ? `<br>${esc(found)}` : ''}</figcaption>
</figure>`;
  });
  return `<h3>Counterexamples</h3><p class="legend">original | perturbation, amplified around grey | adversarial</p><div class="gallery">${figures.join('\n')}</div>`;
}

const fixed = (v: number): string => v.toFixed(3);
const size = (v: number): string => (v === 0 ? '0' : Math.abs(v) >= 0.001 ? v.toFixed(3) : v.toExponential(2));

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header,main{max-width:1100px;margin:0 auto;padding:16px 24px}
h1{font-size:22px;margin:8px 0}
h2{font-size:17px;margin:0 0 4px}
h3{font-size:14px;margin:16px 0 4px}
.summary{font-weight:600}.summary.passed{color:#1a7f37}.summary.failed{color:#cf222e}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:14px 18px;margin:0 0 18px}
.subtitle,.facts,.legend,.picture{color:#555;margin:2px 0}
.verdict{display:inline-block;font-size:12px;font-weight:700;border-radius:4px;padding:1px 7px;margin-right:8px;color:#fff;vertical-align:2px}
.verdict.pass{background:#1a7f37}.verdict.fail{background:#cf222e}
.body{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start;margin-top:10px}
figure{margin:0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #e5e5e5;padding:3px 10px;text-align:right}
thead th{border-bottom:2px solid #bbb}
tr.clean{color:#555}
caption{text-align:left;color:#555;padding-bottom:4px}
table.environment th{text-align:left;color:#555;font-weight:500}
table.environment td{text-align:left}
td.command{font-family:ui-monospace,monospace;font-size:12px}
.flags{background:#fff8c5;border:1px solid #d4a72c;border-radius:4px;padding:6px 24px;margin:8px 0}
.gallery{display:flex;flex-wrap:wrap;gap:14px}
.counterexample{border:1px solid #e5e5e5;border-radius:4px;padding:6px}
.panels{display:flex;gap:4px}
.panels img{width:84px;height:auto;image-rendering:pixelated;border:1px solid #aaa;background:#fff}
figcaption{font-size:12px;color:#333;margin-top:4px}
b.adv{color:#cf222e}
`;
