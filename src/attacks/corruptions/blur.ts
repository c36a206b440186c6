/**
 * Gaussian blur as a severity search over σ (pixels), up to the image's larger side by
 * default (Foolbox's GaussianBlurAttack). Separable, per channel, with scipy.ndimage's
 * defaults: 'reflect' borders and the kernel truncated at 4σ. Reported norm: L2.
 */
import type { Attack } from '../types.js';
import { corruptionAttack, type CorruptionOptions } from './search.js';
import { imageShape, reflect, type ImageShape } from './image.js';

const TRUNCATE = 4;

export function gaussianBlur(options: CorruptionOptions = {}): Attack {
  return corruptionAttack(
    {
      name: 'GaussianBlur',
      severity: 'σ',
      norm: 'l2',
      checkShape: (shape) => void imageShape(shape, 'gaussianBlur()'),
      maxSeverity: (shape) => {
        const { height, width } = imageShape(shape, 'gaussianBlur()');
        return Math.max(height, width);
      },
      prepare({ x, shape }) {
        const image = imageShape(shape, 'gaussianBlur()');
        return (sigma) => blur(x, image, sigma);
      },
    },
    'gaussianBlur',
    options,
  );
}

/** Gaussian blur of one HWC image with standard deviation `sigma` pixels along both axes. */
export function blur(x: Float32Array, { height, width, channels }: ImageShape, sigma: number): Float32Array {
  const kernel = gaussianKernel(sigma);
  const radius = (kernel.length - 1) / 2;
  if (radius === 0) return x.slice();
  const rows = new Float64Array(x.length);
  for (let h = 0; h < height; h++)
    for (let w = 0; w < width; w++)
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) acc += kernel[k + radius]! * x[(h * width + reflect(w + k, width)) * channels + c]!;
        rows[(h * width + w) * channels + c] = acc;
      }
  const out = new Float32Array(x.length);
  for (let h = 0; h < height; h++)
    for (let w = 0; w < width; w++)
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) acc += kernel[k + radius]! * rows[(reflect(h + k, height) * width + w) * channels + c]!;
        out[(h * width + w) * channels + c] = acc;
      }
  return out;
}

/** scipy's _gaussian_kernel1d: radius ⌊4σ + 0.5⌋, weights normalised to sum 1. */
export function gaussianKernel(sigma: number): Float64Array {
  const radius = Math.floor(TRUNCATE * sigma + 0.5);
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let k = -radius; k <= radius; k++) {
    const v = Math.exp((-0.5 * k * k) / (sigma * sigma));
    kernel[k + radius] = v;
    sum += v;
  }
  for (let k = 0; k < kernel.length; k++) kernel[k] = kernel[k]! / sum;
  return kernel;
}
