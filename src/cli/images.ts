/**
 * A folder of images with one sub-folder per class (torchvision's ImageFolder convention: classes
 * are the sub-folder names in sorted order), decoded by pngjs and jpeg-js into NHWC values.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { RobustestError } from '../errors.js';

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA bytes, row-major. */
  rgba: Uint8Array;
}

export interface ImageFolder {
  classNames: string[];
  files: { path: string; label: number }[];
}

const DECODERS: Record<string, (bytes: Buffer) => DecodedImage> = {
  '.png': (bytes) => {
    const png = PNG.sync.read(bytes);
    return { width: png.width, height: png.height, rgba: png.data };
  },
  '.jpg': decodeJpeg,
  '.jpeg': decodeJpeg,
};

function decodeJpeg(bytes: Buffer): DecodedImage {
  const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
  return { width: image.width, height: image.height, rgba: image.data };
}

/** The classes and image files of an ImageFolder, files in class order then name order. */
export function listImageFolder(root: string): ImageFolder {
  const classNames = readdirSync(root)
    .filter((name) => !name.startsWith('.') && statSync(join(root, name)).isDirectory())
    .sort();
  if (classNames.length === 0) {
    throw new RobustestError('INVALID_OPTION', `${root} holds no class folders.`, { expected: 'one sub-folder of images per class, e.g. data/cat/1.png, data/dog/2.jpg', received: 'no sub-folders' });
  }
  const files = classNames.flatMap((name, label) =>
    readdirSync(join(root, name))
      .filter((file) => extname(file).toLowerCase() in DECODERS)
      .sort()
      .map((file) => ({ path: join(root, name, file), label })),
  );
  if (files.length === 0) {
    throw new RobustestError('INVALID_OPTION', `${root} holds no PNG or JPEG images.`, { expected: 'files ending in .png, .jpg or .jpeg inside the class folders', received: `class folders ${classNames.join(', ')} without images` });
  }
  return { classNames, files };
}

export function decodeImage(path: string): DecodedImage {
  const decode = DECODERS[extname(path).toLowerCase()];
  if (!decode) throw new RobustestError('INVALID_OPTION', `${path} is not a PNG or JPEG file.`, { expected: '.png, .jpg or .jpeg', received: extname(path) || 'no extension' });
  try {
    return decode(readFileSync(path));
  } catch (error) {
    throw new RobustestError('INVALID_OPTION', `${path} could not be decoded.`, { expected: 'a valid PNG or JPEG image', received: (error as Error).message });
  }
}

/**
 * One image as HWC floats of `channels` channels (1: luma as ITU-R BT.601, like PIL's "L"),
 * resized to [height, width] by bilinear interpolation with half-pixel centres when it differs.
 * Bytes are divided by `scale` (255 gives [0, 1]).
 */
export function imageValues(image: DecodedImage, channels: 1 | 3, size: [number, number] | null, scale: number): Float32Array {
  const [h, w] = size ?? [image.height, image.width];
  const out = new Float32Array(h * w * channels);
  const at = (x: number, y: number, c: number): number => image.rgba[4 * (y * image.width + x) + c]!;
  const channel = (x: number, y: number, c: number): number => (channels === 3 ? at(x, y, c) : 0.299 * at(x, y, 0) + 0.587 * at(x, y, 1) + 0.114 * at(x, y, 2));
  const sx = image.width / w;
  const sy = image.height / h;
  for (let y = 0; y < h; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), image.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, image.height - 1);
    const dy = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), image.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, image.width - 1);
      const dx = fx - x0;
      for (let c = 0; c < channels; c++) {
        const top = channel(x0, y0, c) * (1 - dx) + channel(x1, y0, c) * dx;
        const bottom = channel(x0, y1, c) * (1 - dx) + channel(x1, y1, c) * dx;
        out[(y * w + x) * channels + c] = (top * (1 - dy) + bottom * dy) / scale;
      }
    }
  }
  return out;
}
