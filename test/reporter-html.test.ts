/**
 * The HTML report's content, without a browser: sections from reporter records (flags, curves,
 * measured shares), certified brackets, class names in the gallery, and escaping of everything
 * that comes from a user (test names, attack descriptions, class names).
 */
import { PNG } from 'pngjs';
import { describe, expect, test } from 'vitest';
import { galleryOf, pngDataUrl } from '../src/report/html/gallery.js';
import { runDocument } from '../src/report/html/from-records.js';
import { renderReport } from '../src/report/html/render.js';
import type { ReportDocument } from '../src/report/html/document.js';
import type { AssertionRecord } from '../src/report/table.js';

const record = (over: Partial<AssertionRecord>): AssertionRecord => ({
  matcher: 'toBeRobustAgainst',
  test: 'a.test.ts › <script>alert(1)</script>',
  file: null,
  model: 'cnn',
  attack: 'PGD (L∞, 40 steps)',
  epsilon: 8 / 255,
  cleanAccuracy: 0.9,
  robustAccuracy: 0.7,
  required: '≥ 0.600',
  passed: true,
  seed: 5,
  picture: null,
  ...over,
});

describe('the report of a run', () => {
  test('one section per record, with its verdict, flags, curve and ε as written', async () => {
    const doc = runDocument([
      record({ flags: ['APGD-T found adversarials that APGD-CE missed: the loss may be masking gradients.'], curve: { attacks: ['PGD'], norm: 'linf', epsilons: [4 / 255, 8 / 255], robustAccuracy: [0.8, 0.7] } }),
      record({ matcher: 'toBeInvariantUnder', epsilon: null, attack: 'translation dx=1 dy=0', robustAccuracy: 0.95, passed: false }),
    ]);
    expect(doc.sections.map((s) => s.verdict)).toEqual(['pass', 'fail']);
    expect(doc.summary).toBe('2 robustness assertions: 1 held, 1 failed.');
    expect(doc.environment.seed).toBe(5);
    const html = await renderReport(doc);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<ul class="flags"><li>APGD-T found adversarials');
    expect(html).toContain('<th>4/255</th><td data-series="PGD" data-epsilon="0.01568627450980392">0.800</td>');
    expect(html).toContain('required robust accuracy ≥ 0.600 at ε 8/255');
    expect(html).toContain('<tr class="measured"><th>kept class</th><td data-measured>0.950</td></tr>');
    expect(html.match(/<svg/g)).toHaveLength(1);
  });
});

describe('brackets and the gallery', () => {
  test('certified brackets, class names and amplified perturbations', async () => {
    const original = Float32Array.from({ length: 16 }, (_, i) => i / 16);
    const adversarial = original.map((v, i) => Math.min(1, v + (i % 2 === 0 ? 0.05 : -0.05)));
    const [item] = galleryOf([{ index: 3, label: 1, adversarialClass: 2, confidence: 0.75, original, adversarial }], [4, 4], [0, 1], 4);
    expect(item!.linf).toBeCloseTo(0.05, 6);
    expect(item!.l0).toBe(16);
    expect(item!.amplification).toBeCloseTo(10, 4);
    // The perturbation image is mid-grey ± the full swing: δ is shown amplified.
    const png = PNG.sync.read(Buffer.from(item!.perturbation.split(',')[1]!, 'base64'));
    expect([png.data[0], png.data[4]]).toEqual([255, 0]);
    const doc: ReportDocument = {
      title: 't',
      generated: 'now',
      environment: { seed: 1, backend: 'cpu', versions: {} },
      classNames: ['cat', 'dog & wolf', 'bird'],
      sections: [
        {
          title: 's',
          subtitle: '',
          verdict: null,
          measure: 'robust accuracy',
          cleanAccuracy: 0.9,
          curves: [{ name: 'pgd', epsilons: [0.1], robustAccuracy: [0.6] }],
          certified: { method: 'crown', epsilons: [0.1], certified: [0.4], notFalsified: [0.6] },
          gallery: [{ ...item!, attack: 'pgd', epsilon: 0.1 }],
          seed: 1,
        },
      ],
    };
    const html = await renderReport(doc);
    expect(html).toContain('<td class="bracket" data-epsilon="0.1">0.400 ≤ · ≤ 0.600</td>');
    expect(html).toContain('<th>certified (crown)</th>');
    expect(html).toContain('<b>1 dog &amp; wolf</b> → <b class="adv">2 bird</b> (p 0.750)');
    expect(html).toContain('pgd at ε 0.1');
  });

  test('pngDataUrl writes the bytes it is given', () => {
    const url = pngDataUrl([2, 3, 3], (i) => i * 10);
    const png = PNG.sync.read(Buffer.from(url.split(',')[1]!, 'base64'));
    expect([png.width, png.height]).toEqual([3, 2]);
    expect(Array.from(png.data.subarray(0, 8))).toEqual([0, 10, 20, 255, 30, 40, 50, 255]);
  });
});
