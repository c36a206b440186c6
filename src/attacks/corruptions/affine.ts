/** Rotation and translation of HWC images with bilinear resampling, on Float32Arrays. */
import type { ImageShape } from './image.js';

export interface Transform {
  /** Degrees, counter-clockwise as the image is displayed (rows downwards). */
  rotation: number;
  /** Pixels to the right. */
  dx: number;
  /** Pixels downwards. */
  dy: number;
}

/**
 * Each output pixel samples the input at the inverse transform of its centre, rotating about
 * the image centre; samples that fall outside the image read `fill`.
 */
export function transformImage(x: Float32Array, { height, width, channels }: ImageShape, t: Transform, fill: number): Float32Array {
  const out = new Float32Array(x.length);
  const theta = (t.rotation * Math.PI) / 180;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const cx = width / 2;
  const cy = height / 2;
  const read = (r: number, c: number, ch: number) => (r >= 0 && r < height && c >= 0 && c < width ? x[(r * width + c) * channels + ch]! : fill);
  for (let h = 0; h < height; h++)
    for (let w = 0; w < width; w++) {
      // Output centre relative to the image centre, minus the translation, rotated back.
      const u = w + 0.5 - cx - t.dx;
      const v = h + 0.5 - cy - t.dy;
      // Forward map (counter-clockwise on screen): u' = u cos + v sin, v' = −u sin + v cos; this is its inverse.
      const su = u * cos - v * sin;
      const sv = u * sin + v * cos;
      const sx = su + cx - 0.5;
      const sy = sv + cy - 0.5;
      const c0 = Math.floor(sx);
      const r0 = Math.floor(sy);
      const fx = sx - c0;
      const fy = sy - r0;
      for (let ch = 0; ch < channels; ch++) {
        const top = (1 - fx) * read(r0, c0, ch) + fx * read(r0, c0 + 1, ch);
        const bottom = (1 - fx) * read(r0 + 1, c0, ch) + fx * read(r0 + 1, c0 + 1, ch);
        out[(h * width + w) * channels + ch] = (1 - fy) * top + fy * bottom;
      }
    }
  return out;
}
