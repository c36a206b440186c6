/**
 * NumPy's .npy arrays (format versions 1–3, little- or big-endian numbers, C or Fortran order)
 * and .npz archives of them (zip, stored or deflated, read by fflate): how Python users hand
 * over inputs and labels.
 */
import { unzipSync } from 'fflate';
import { RobustestError, show } from '../errors.js';

export interface NpyArray {
  shape: number[];
  /** Values in C (row-major) order. */
  data: Float64Array;
  dtype: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** The array stored in one .npy file's bytes; `name` is used in errors. */
export function parseNpy(bytes: Uint8Array, name: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new RobustestError('INVALID_OPTION', `${name} is not a .npy file.`, { expected: 'a file written by numpy.save (starting with \\x93NUMPY)', received: `${bytes.length} bytes` });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1] === 'True';
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || shapeText === undefined) {
    throw new RobustestError('INVALID_OPTION', `${name} has a .npy header robustest cannot read.`, { expected: "{'descr': …, 'fortran_order': …, 'shape': (…)}", received: header.trim() });
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const reader = READERS[descr.slice(1)];
  const little = descr[0] !== '>';
  if (reader === undefined) {
    throw new RobustestError('INVALID_OPTION', `${name} holds ${descr} numbers, which robustest does not read.`, { expected: `one of ${Object.keys(READERS).join(', ')}`, received: descr });
  }
  const offset = headerStart + headerLength;
  if (bytes.length - offset < count * reader.size) {
    throw new RobustestError('INVALID_OPTION', `${name} is shorter than its header says.`, { expected: `${count * reader.size} bytes of data for shape (${shape.join(', ')})`, received: `${bytes.length - offset} bytes` });
  }
  const raw = new Float64Array(count);
  for (let i = 0; i < count; i++) raw[i] = reader.read(view, offset + i * reader.size, little);
  return { shape, data: fortran ? toRowMajor(raw, shape) : raw, dtype: descr };
}

/** Every array in a .npz archive, by name without `.npy`. */
export function parseNpz(bytes: Uint8Array, name: string): Record<string, NpyArray> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (error) {
    throw new RobustestError('INVALID_OPTION', `${name} is not a .npz archive.`, { expected: 'a zip file written by numpy.savez', received: show((error as Error).message) });
  }
  return Object.fromEntries(Object.entries(files).map(([file, data]) => [file.replace(/\.npy$/, ''), parseNpy(data, `${name}:${file}`)]));
}

interface Reader {
  size: number;
  read(view: DataView, at: number, little: boolean): number;
}

const READERS: Record<string, Reader> = {
  f4: { size: 4, read: (v, at, le) => v.getFloat32(at, le) },
  f8: { size: 8, read: (v, at, le) => v.getFloat64(at, le) },
  u1: { size: 1, read: (v, at) => v.getUint8(at) },
  i1: { size: 1, read: (v, at) => v.getInt8(at) },
  b1: { size: 1, read: (v, at) => v.getUint8(at) },
  u2: { size: 2, read: (v, at, le) => v.getUint16(at, le) },
  i2: { size: 2, read: (v, at, le) => v.getInt16(at, le) },
  u4: { size: 4, read: (v, at, le) => v.getUint32(at, le) },
  i4: { size: 4, read: (v, at, le) => v.getInt32(at, le) },
  i8: { size: 8, read: (v, at, le) => Number(v.getBigInt64(at, le)) },
  u8: { size: 8, read: (v, at, le) => Number(v.getBigUint64(at, le)) },
};

/** Fortran (column-major) order to C order. */
function toRowMajor(data: Float64Array, shape: readonly number[]): Float64Array {
  const out = new Float64Array(data.length);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  for (let c = 0; c < data.length; c++) {
    // c walks C order; its Fortran offset has the first axis varying fastest.
    let f = 0;
    let stride = 1;
    for (let a = 0; a < rank; a++) {
      f += index[a]! * stride;
      stride *= shape[a]!;
    }
    out[c] = data[f]!;
    for (let a = rank - 1; a >= 0; a--) {
      if (++index[a]! < shape[a]!) break;
      index[a] = 0;
    }
  }
  return out;
}
