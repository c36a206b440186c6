import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { evaluate, fgsm } from '../src/index.js';
import { counterexamples, flattenInputs, perturbationNorms } from '../src/report/counterexamples.js';
import { drawText, glyph, GLYPH_HEIGHT, textWidth } from '../src/report/font.js';
import { amplification, isImageShape, renderPicture, writePicture } from '../src/report/picture.js';
import { formatRobustnessTable, type AssertionRecord } from '../src/report/table.js';
import { collectRecords, RobustnessReporter } from '../matchers/reporter.js';
import { slug } from '../matchers/location.js';
import { halves, stripes, stripeSamples } from './fixtures/projects/stripes-model.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'robustest-report-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('counterexamples', () => {
  test('perturbation norms agree with a direct computation', () => {
    const original = [0.2, 0.5, 0.5, 1];
    const adversarial = [0.5, 0.1, 0.5, 0.9];
    const n = perturbationNorms(original, adversarial);
    expect(n.linf).toBeCloseTo(0.4, 12);
    expect(n.l2).toBeCloseTo(Math.sqrt(0.09 + 0.16 + 0.01), 12);
    expect(n.l0).toBe(3);
  });

  test('lists correctly classified samples broken at or below ε, with the originals they came from', async () => {
    const on = stripeSamples();
    const report = await evaluate(stripes, on, { attack: fgsm(), epsilons: [0.1, 0.2] });
    const inputs = await flattenInputs(on.inputs);
    expect(inputs).toHaveLength(640);
    const at01 = counterexamples(report, inputs, 0.1);
    const at02 = counterexamples(report, inputs, 0.2);
    expect(at01.map((c) => c.index)).toEqual([0, 3, 4, 7]);
    expect(at02.map((c) => c.index)).toEqual([0, 1, 3, 4, 5, 7]);
    for (const c of at02) {
      const [left, right] = [on.inputs[c.index]![0]![0]![0]!, on.inputs[c.index]![0]![7]![0]!];
      expect(c.original).toEqual(Float32Array.from(halves(left, right).flat(2)));
      expect(c.linf).toBeCloseTo(c.breakingEpsilon!, 6);
      expect(c.l0).toBe(64);
      expect(c.l2).toBeCloseTo(8 * c.breakingEpsilon!, 5);
    }
    expect(counterexamples(report, null, 0.1).every((c) => c.linf === null && c.original === null)).toBe(true);
  });
});

describe('pictures', () => {
  test('only image-shaped inputs are drawn', () => {
    expect(isImageShape([28, 28, 1])).toBe(true);
    expect(isImageShape([32, 32, 3])).toBe(true);
    expect(isImageShape([8, 8])).toBe(true);
    expect(isImageShape([784])).toBe(false);
    expect(isImageShape([8, 8, 2])).toBe(false);
    expect(isImageShape([1, 8, 1])).toBe(false);
  });

  test('rows show original | amplified perturbation around grey | adversarial, pixel for pixel', () => {
    const original = Float32Array.from(halves(0.55, 0.45).flat(2));
    const adversarial = Float32Array.from(halves(0.45, 0.55).flat(2));
    const path = join(dir, 'nested', 'row.png');
    writePicture(path, [{ original, adversarial, caption: ['#0  class 0 → 1 (p 0.881)', 'L∞ 0.100'] }], { shape: [8, 8, 1], bounds: [0, 1] });
    const png = PNG.sync.read(readFileSync(path));
    const pixel = (x: number, y: number): number[] => Array.from(png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 4));
    // Find the three panels: scale 12 makes 96-pixel squares; search the row for the original's first pixel.
    const scale = 12;
    const margin = 10;
    const gap = 10;
    const top = png.height - margin - 8 * scale;
    const panel = (k: number, px: number, py: number): number[] => pixel(margin + k * (8 * scale + gap) + px * scale + 5, top + py * scale + 5);
    expect(panel(0, 0, 0)).toEqual([140, 140, 140, 255]); // round(0.55 · 255)
    expect(panel(0, 7, 7)).toEqual([115, 115, 115, 255]); // round(0.45 · 255)
    expect(panel(1, 0, 0)).toEqual([0, 0, 0, 255]); // δ = −max|δ| → black
    expect(panel(1, 7, 0)).toEqual([255, 255, 255, 255]); // δ = +max|δ| → white
    expect(panel(2, 0, 0)).toEqual([115, 115, 115, 255]);
    expect(panel(2, 7, 3)).toEqual([140, 140, 140, 255]);
    // Frames are grey, the background white, and the caption drew some ink above the panels.
    expect(pixel(margin - 1, top - 1)).toEqual([170, 170, 170, 255]);
    expect(pixel(1, 1)).toEqual([255, 255, 255, 255]);
    let ink = 0;
    for (let y = margin; y < top; y++) for (let x = 0; x < png.width; x++) if (pixel(x, y)[0] === 20) ink++;
    expect(ink).toBeGreaterThan(200);
  });

  test('colour images keep their channels, and an unchanged sample shows a flat grey perturbation', () => {
    const original = new Float32Array(4 * 4 * 3);
    for (let i = 0; i < 16; i++) original.set([1, 0, 0.5], i * 3);
    const png = PNG.sync.read(renderPicture([{ original, adversarial: original, caption: ['same'] }], { shape: [4, 4, 3], bounds: [0, 1] }));
    const scale = 24;
    const top = png.height - 10 - 4 * scale;
    const at = (k: number): number[] => {
      const o = ((top + 3) * png.width + 10 + k * (4 * scale + 10) + 3) * 4;
      return Array.from(png.data.subarray(o, o + 3));
    };
    expect(at(0)).toEqual([255, 0, 128]);
    expect(at(1)).toEqual([128, 128, 128]);
    expect(at(2)).toEqual([255, 0, 128]);
    expect(amplification(original, original, [0, 1])).toBe(1);
    expect(amplification([0.5], [0.6], [0, 1])).toBeCloseTo(5, 9);
    expect(amplification([0.5], [0.6], [-1, 1])).toBeCloseTo(10, 9);
  });

  test('the font draws every caption character and the widths add up', () => {
    for (const c of '#0123456789 classp().→L∞ε×-:=<>/%+ABCDEFGHIJKLMNOPQRSTUVWXYZ') expect(glyph(c)).not.toBe(glyph('?'));
    expect(glyph('a')).toBe(glyph('A'));
    expect(textWidth('')).toBe(0);
    expect(textWidth('ab')).toBe(11);
    const lit: [number, number][] = [];
    drawText('1', 0, 0, 2, (x, y) => lit.push([x, y]));
    // "1" has 1 + 2 + 1 + 1 + 1 + 1 + 3 = 10 lit font pixels: at scale 2, four device pixels each.
    expect(lit).toHaveLength(10 * 4);
    expect(Math.max(...lit.map(([, y]) => y))).toBe(GLYPH_HEIGHT * 2 - 1);
  });

  test('file names are slugs of the test name', () => {
    expect(slug('toBeRobustAgainst > keeps 90% at ε = 0.1')).toBe('toberobustagainst-keeps-90-at-eps-0.1');
    expect(slug('///')).toBe('test');
  });
});

const record = (over: Partial<AssertionRecord>): AssertionRecord => ({
  matcher: 'toBeRobustAgainst',
  test: 'cnn keeps its accuracy',
  file: '/repo/test/a.test.ts',
  model: 'cnn',
  attack: 'PGD (L∞, 40 steps)',
  epsilon: 0.1,
  cleanAccuracy: 0.98,
  robustAccuracy: 0.91,
  required: '≥ 0.900',
  passed: true,
  seed: 0,
  picture: null,
  ...over,
});

describe('reporter', () => {
  test('the table lists every assertion with its verdict', () => {
    expect(formatRobustnessTable([record({}), record({ test: 'mlp', model: 'mlp', epsilon: null, attack: 'DeepFool (L2)', robustAccuracy: 0.5, passed: false })])).toBe(
      [
        'Robustness assertions',
        '',
        'Verdict    ε  Clean  Measured      Required  Test',
        '───────  ───  ─────  ────────────  ────────  ──────────────────────',
        'pass     0.1  0.980  0.910 robust  ≥ 0.900   cnn keeps its accuracy',
        '         PGD (L∞, 40 steps) · cnn',
        'FAIL       —  0.980  0.500 robust  ≥ 0.900   mlp',
        '         seed 0 · DeepFool (L2) · mlp',
        '',
        '2 robustness assertions: 1 held, 1 failed',
      ].join('\n'),
    );
    expect(formatRobustnessTable([])).toBe('robustest: no robustness assertions ran.');
  });

  test('collects records from test metadata, in order, named by file', () => {
    const modules = [
      { moduleId: '/repo/test/a.test.ts', children: { allTests: () => [{ meta: () => ({ robustest: [record({}), record({ epsilon: 0.2, passed: false })] }) }, { meta: () => ({}) }] } },
      { moduleId: '/repo/test/b.test.ts', children: { allTests: () => [{ meta: () => ({ robustest: [record({ file: '/repo/test/b.test.ts', test: 'b' })] }) }] } },
    ];
    const records = collectRecords(modules, '/repo');
    expect(records.map((r) => [r.test, r.epsilon, r.passed])).toEqual([
      ['test/a.test.ts › cnn keeps its accuracy', 0.1, true],
      ['test/a.test.ts › cnn keeps its accuracy', 0.2, false],
      ['test/b.test.ts › b', 0.1, true],
    ]);
    const logged: string[] = [];
    const reporter = new RobustnessReporter();
    reporter.onInit({ logger: { log: (text: unknown) => logged.push(String(text)) }, config: { root: '/repo' } });
    reporter.onTestRunEnd(modules);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('3 robustness assertions: 2 held, 1 failed');
    reporter.onTestRunEnd([]);
    expect(logged).toHaveLength(1);
  });
});
