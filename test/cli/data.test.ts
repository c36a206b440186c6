/**
 * Data for the command: an ImageFolder of PNG and JPEG files decodes to the values they were
 * written from (PNG exactly, to the byte; JPEG within its lossy error), classes come from the
 * folder names in sorted order, and resizing agrees with tfjs's bilinear resize.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ensureBackend } from '../../src/index.js';
import { loadData } from '../../src/cli/data.js';
import { main } from '../../src/cli/main.js';
import { mnistSplit } from '../../examples/mnist/data.js';

let dir: string;
const digits = mnistSplit('test', 20);
const NAMES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

function rgba(i: number): Buffer {
  const out = Buffer.alloc(28 * 28 * 4);
  for (let p = 0; p < 784; p++) {
    const v = Math.round(255 * digits.images[i * 784 + p]!);
    out.set([v, v, v, 255], 4 * p);
  }
  return out;
}

beforeAll(async () => {
  await ensureBackend();
  dir = mkdtempSync(join(tmpdir(), 'robustest-images-'));
  for (let i = 0; i < digits.count; i++) {
    const folder = join(dir, 'png', `${digits.labels[i]}-${NAMES[digits.labels[i]!]}`);
    mkdirSync(folder, { recursive: true });
    const png = new PNG({ width: 28, height: 28 });
    rgba(i).copy(png.data);
    writeFileSync(join(folder, `${String(i).padStart(3, '0')}.png`), PNG.sync.write(png));
    const jfolder = join(dir, 'jpeg', `${digits.labels[i]}`);
    mkdirSync(jfolder, { recursive: true });
    writeFileSync(join(jfolder, `${String(i).padStart(3, '0')}.jpg`), jpeg.encode({ data: rgba(i), width: 28, height: 28 }, 95).data);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('PNG folders decode to the bytes written, classes in sorted folder order, every class in any prefix', () => {
  const data = loadData(join(dir, 'png'), { channels: 1 });
  expect(data.classNames).toEqual(NAMES.map((n, k) => `${k}-${n}`));
  expect(data.shape).toEqual([20, 28, 28, 1]);
  // Interleaved by class like the MNIST split: the folder order gives back the same digits.
  expect(Array.from(data.labels)).toEqual(Array.from(digits.labels));
  for (let k = 0; k < data.inputs.length; k++) expect(Math.abs(data.inputs[k]! - Math.round(255 * digits.images[k]!) / 255)).toBeLessThan(1e-6);
  const first = loadData(join(dir, 'png'), { channels: 1, n: 10 });
  expect(new Set(first.labels).size).toBe(10);
});

test('JPEG decodes within its compression error; three channels of a grey image are equal', () => {
  const data = loadData(join(dir, 'jpeg'), { channels: 3 });
  expect(data.shape).toEqual([20, 28, 28, 3]);
  let worst = 0;
  for (let p = 0; p < 20 * 784; p++) {
    worst = Math.max(worst, Math.abs(data.inputs[3 * p]! - digits.images[p]!));
    expect(data.inputs[3 * p]).toBeCloseTo(data.inputs[3 * p + 2]!, 1);
  }
  expect(worst).toBeLessThan(0.25);
});

test('resizing agrees with tf.image.resizeBilinear (half-pixel centres)', () => {
  const data = loadData(join(dir, 'png'), { channels: 1, size: [14, 20], n: 2 });
  const original = loadData(join(dir, 'png'), { channels: 1, n: 2 });
  const expected = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(original.inputs, [2, 28, 28, 1]), [14, 20], false, true).dataSync());
  let worst = 0;
  for (let k = 0; k < expected.length; k++) worst = Math.max(worst, Math.abs(expected[k]! - data.inputs[k]!));
  expect(worst).toBeLessThan(1e-5);
});

test('bench on an image folder names the classes in its report', async () => {
  const html = join(dir, 'folder.html');
  const code = await main(['bench', 'examples/mnist/models/cnn/model.json', '--data', join(dir, 'png'), '--n', '10', '--attacks', 'fgsm', '--eps', '0.2', '--html', html, '--no-progress'], { out: () => {}, err: () => {}, live: false });
  expect(code).toBe(0);
  const text = (await import('node:fs')).readFileSync(html, 'utf8');
  expect(text).toMatch(/<b>\d+ \d-[a-z]+<\/b> → <b class="adv">\d+ \d-[a-z]+<\/b>/);
});
