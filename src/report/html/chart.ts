/**
 * Robustness curves as SVG, rendered once when the report is written: vega-lite compiles the
 * chart and vega draws it headless, so the page needs no script to show it.
 */
import type { TopLevelSpec } from 'vega-lite';
import { formatEpsilon } from '../epsilon.js';
import type { CurveSeries } from './document.js';

export interface ChartOptions {
  /** Accuracy at ε = 0, where every curve starts. */
  cleanAccuracy: number;
  /** Name of the worst-case series, drawn dashed. */
  worstCase?: string;
  bounds?: [number, number];
  width?: number;
  height?: number;
}

/** One line per series over ε (with the clean accuracy at ε = 0); an SVG element as text. */
export async function curveChart(series: readonly CurveSeries[], options: ChartOptions): Promise<string> {
  const values = series.flatMap((s) => [
    { series: s.name, epsilon: 0, accuracy: options.cleanAccuracy, label: '0' },
    ...s.epsilons.map((e, i) => ({ series: s.name, epsilon: e, accuracy: s.robustAccuracy[i]!, label: formatEpsilon(e, options.bounds) })),
  ]);
  const spec: TopLevelSpec = {
    width: options.width ?? 360,
    height: options.height ?? 220,
    background: 'white',
    data: { values },
    mark: { type: 'line', point: true, clip: true },
    encoding: {
      x: { field: 'epsilon', type: 'quantitative', title: 'ε', axis: { grid: true } },
      y: { field: 'accuracy', type: 'quantitative', title: 'robust accuracy', scale: { domain: [0, 1] } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2, labelLimit: 320 } },
      // The worst case is dashed, so that it stays visible where it runs on top of an attack's curve.
      strokeDash: {
        field: 'series',
        type: 'nominal',
        scale: { domain: series.map((s) => s.name), range: series.map((s) => (s.name === options.worstCase ? [6, 4] : [1, 0])) },
      },
      tooltip: [
        { field: 'series', type: 'nominal' },
        { field: 'label', type: 'nominal', title: 'ε' },
        { field: 'accuracy', type: 'quantitative', format: '.3f' },
      ],
    },
    config: { font: 'sans-serif', view: { stroke: '#ccc' } },
  };
  const [vega, { compile }] = await loadVega();
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

type Vega = [typeof import('vega'), typeof import('vega-lite')];

/**
 * vega is ESM with top-level await, which require() cannot load, and the CommonJS build turns
 * `import()` into require(): there, an import() the bundler does not see loads it instead.
 */
async function loadVega(): Promise<Vega> {
  try {
    return await Promise.all([import('vega'), import('vega-lite')]);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_REQUIRE_ASYNC_MODULE') throw error;
    const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;
    return (await Promise.all([importEsm('vega'), importEsm('vega-lite')])) as Vega;
  }
}
