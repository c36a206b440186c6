/**
 * Counterexamples as small images for the HTML report: for each broken input, the original, the
 * perturbation amplified around mid-grey so that even an invisible ε shows, and the adversarial
 * input, each a PNG data URL (encoded by pngjs). Items are plain JSON so that a test worker can
 * hand them to the reporter.
 */
import { PNG } from 'pngjs';
import { perturbationNorms } from '../counterexamples.js';
import { amplification, isImageShape } from '../picture.js';

export interface GalleryItem {
  /** Index of the input in the samples. */
  index: number;
  label: number | null;
  adversarialClass: number;
  confidence: number | null;
  linf: number;
  l2: number;
  l0: number;
  /** How much the perturbation image magnifies δ relative to the input range. */
  amplification: number;
  original: string;
  perturbation: string;
  adversarial: string;
}

export interface GalleryInput {
  index: number;
  label: number | null;
  adversarialClass: number;
  confidence: number | null;
  original: ArrayLike<number>;
  adversarial: ArrayLike<number>;
}

/** The gallery of the first `max` counterexamples; empty when the inputs are not images. */
export function galleryOf(inputs: readonly GalleryInput[], shape: readonly number[], bounds: readonly [number, number], max: number): GalleryItem[] {
  if (!isImageShape(shape)) return [];
  return inputs.slice(0, Math.max(0, max)).map((c) => {
    const norms = perturbationNorms(c.original, c.adversarial);
    const [low, high] = bounds;
    const toByte = (v: number): number => Math.round((255 * (v - low)) / (high - low));
    const largest = norms.linf;
    const delta = (i: number): number => (largest === 0 ? 128 : Math.round(127.5 + (127.5 * (c.adversarial[i]! - c.original[i]!)) / largest));
    return {
      index: c.index,
      label: c.label,
      adversarialClass: c.adversarialClass,
      confidence: c.confidence,
      ...norms,
      amplification: amplification(c.original, c.adversarial, bounds),
      original: pngDataUrl(shape, (i) => toByte(c.original[i]!)),
      perturbation: pngDataUrl(shape, delta),
      adversarial: pngDataUrl(shape, (i) => toByte(c.adversarial[i]!)),
    };
  });
}

/** One image of shape [h, w], [h, w, 1], [h, w, 3] or [h, w, 4] as a PNG data URL; `value(i)` is a byte. */
export function pngDataUrl(shape: readonly number[], value: (i: number) => number): string {
  const [h, w] = shape as [number, number];
  const channels = shape.length === 3 ? shape[2]! : 1;
  const png = new PNG({ width: w, height: h });
  const byte = (v: number): number => Math.max(0, Math.min(255, v));
  for (let p = 0; p < h * w; p++) {
    const base = p * channels;
    const rgb = channels === 1 ? [value(base), value(base), value(base)] : [value(base), value(base + 1), value(base + 2)];
    png.data[4 * p] = byte(rgb[0]!);
    png.data[4 * p + 1] = byte(rgb[1]!);
    png.data[4 * p + 2] = byte(rgb[2]!);
    png.data[4 * p + 3] = 255;
  }
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}
