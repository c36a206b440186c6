/**
 * Counterexample pictures, laid out as in Szegedy et al. (2014), figure 5: one row per broken
 * sample — original | perturbation | adversarial — with a caption naming the sample, the class
 * change and the perturbation's size. The perturbation is amplified around mid-grey so that even
 * an invisible ε shows; its amplification is printed in the caption. Encoded by pngjs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';
import { drawText, GLYPH_HEIGHT, textWidth } from './font.js';

export interface PictureRow {
  original: ArrayLike<number>;
  adversarial: ArrayLike<number>;
  /** One or two short lines drawn above the row. */
  caption: string[];
}

export interface PictureOptions {
  /** Shape of one input: [h, w], [h, w, 1], [h, w, 3] or [h, w, 4]. */
  shape: readonly number[];
  bounds: readonly [number, number];
}

const MARGIN = 10;
const GAP = 10;
const LINE = GLYPH_HEIGHT + 4;
const TARGET_PANEL = 96;
const WHITE = [255, 255, 255] as const;
const INK = [20, 20, 20] as const;
const FRAME = [170, 170, 170] as const;
const HEADINGS = ['ORIGINAL', 'PERTURBATION', 'ADVERSARIAL'];

/** Whether inputs of this per-sample shape can be drawn as images. */
export function isImageShape(shape: readonly number[]): boolean {
  if (shape.length === 2) return shape[0]! > 1 && shape[1]! > 1;
  if (shape.length === 3) return shape[0]! > 1 && shape[1]! > 1 && [1, 3, 4].includes(shape[2]!);
  return false;
}

/** Draws the rows into a PNG and returns its bytes. */
export function renderPicture(rows: readonly PictureRow[], options: PictureOptions): Buffer {
  if (!isImageShape(options.shape)) throw new Error(`cannot draw inputs of shape [${options.shape.join(', ')}] as images`);
  if (rows.length === 0) throw new Error('a picture needs at least one row');
  const [h, w] = options.shape as [number, number];
  const channels = options.shape.length === 3 ? options.shape[2]! : 1;
  const scale = Math.max(1, Math.floor(TARGET_PANEL / Math.max(h, w)));
  const panelW = w * scale;
  const panelH = h * scale;
  const captionLines = Math.max(...rows.map((r) => r.caption.length));
  const contentW = Math.max(3 * panelW + 2 * GAP, ...rows.flatMap((r) => r.caption.map(textWidth)), HEADINGS.map(textWidth).reduce((a, b) => a + b + GAP));
  const width = contentW + 2 * MARGIN;
  const rowH = captionLines * LINE + 2 + panelH + GAP;
  const height = MARGIN + LINE + GAP / 2 + rows.length * rowH + MARGIN - GAP;

  const png = new PNG({ width, height });
  const put = (x: number, y: number, rgb: readonly number[]): void => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const o = (y * width + x) * 4;
    png.data[o] = rgb[0]!;
    png.data[o + 1] = rgb[1]!;
    png.data[o + 2] = rgb[2]!;
    png.data[o + 3] = 255;
  };
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) put(x, y, WHITE);

  const panelX = (k: number): number => MARGIN + k * (panelW + GAP);
  HEADINGS.forEach((heading, k) => {
    const x = panelX(k) + Math.max(0, Math.floor((panelW - textWidth(heading)) / 2));
    drawText(heading, x, MARGIN, 1, (px, py) => put(px, py, INK));
  });

  const [low, high] = options.bounds;
  const toByte = (v: number): number => Math.max(0, Math.min(255, Math.round((255 * (v - low)) / (high - low))));
  rows.forEach((row, r) => {
    const top = MARGIN + LINE + GAP / 2 + r * rowH;
    row.caption.forEach((line, i) => drawText(line, MARGIN, top + i * LINE, 1, (px, py) => put(px, py, INK)));
    const y0 = top + captionLines * LINE + 2;
    let largest = 0;
    for (let i = 0; i < row.original.length; i++) largest = Math.max(largest, Math.abs(row.adversarial[i]! - row.original[i]!));
    const perturbation = (i: number): number => (largest === 0 ? 128 : Math.max(0, Math.min(255, Math.round(127.5 + (127.5 * (row.adversarial[i]! - row.original[i]!)) / largest))));
    const panels: ((i: number) => number)[] = [(i) => toByte(row.original[i]!), perturbation, (i) => toByte(row.adversarial[i]!)];
    panels.forEach((value, k) => {
      const x0 = panelX(k);
      for (let py = 0; py < h; py++) {
        for (let px = 0; px < w; px++) {
          const base = (py * w + px) * channels;
          const rgb = channels === 1 ? [value(base), value(base), value(base)] : [value(base), value(base + 1), value(base + 2)];
          for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) put(x0 + px * scale + dx, y0 + py * scale + dy, rgb);
        }
      }
      for (let x = x0 - 1; x <= x0 + panelW; x++) {
        put(x, y0 - 1, FRAME);
        put(x, y0 + panelH, FRAME);
      }
      for (let y = y0 - 1; y <= y0 + panelH; y++) {
        put(x0 - 1, y, FRAME);
        put(x0 + panelW, y, FRAME);
      }
    });
  });
  return PNG.sync.write(png);
}

/** How much the perturbation panel magnifies δ relative to the input range. */
export function amplification(original: ArrayLike<number>, adversarial: ArrayLike<number>, bounds: readonly [number, number]): number {
  let largest = 0;
  for (let i = 0; i < original.length; i++) largest = Math.max(largest, Math.abs(adversarial[i]! - original[i]!));
  return largest === 0 ? 1 : (0.5 * (bounds[1] - bounds[0])) / largest;
}

export function writePicture(path: string, rows: readonly PictureRow[], options: PictureOptions): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderPicture(rows, options));
}

/**
 * Writes the picture and returns null, or returns why it could not be written (a file where a
 * folder should be, no permission, a full disk). A picture illustrates a verdict; failing to
 * write one must never replace the verdict with a file-system error.
 */
export function writePictureOrReason(path: string, rows: readonly PictureRow[], options: PictureOptions): string | null {
  try {
    writePicture(path, rows, options);
    return null;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '')}` : e.message;
  }
}
