/**
 * The .npy/.npz reader against NumPy itself: arrays written by numpy.save / numpy.savez (every
 * dtype the reader takes, C and Fortran order, big-endian, format version 2, compressed
 * archives) must read back to the values NumPy wrote.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { RobustestError } from '../../src/errors.js';
import { parseNpy, parseNpz } from '../../src/cli/npy.js';

const dir = mkdtempSync(join(tmpdir(), 'robustest-npy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function numpy(): boolean {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const hasNumpy = numpy();
if (!hasNumpy) console.warn('test/cli/npy.test.ts: python3 with numpy is not installed; the NumPy oracle tests are skipped.');

describe.skipIf(!hasNumpy)('NumPy files', () => {
  test('every dtype, both orders, both byte orders and format 2 read back as NumPy wrote them', () => {
    const script = `
import numpy as np, json, sys
d = sys.argv[1]
base = np.arange(24).reshape(2, 3, 4) * 1.5 - 7
cases = {}
for dt in ['<f4', '<f8', '|u1', '|i1', '<u2', '<i2', '<u4', '<i4', '<i8', '>f4', '>i4', '|b1']:
    a = np.abs(base).astype(dt) if dt[1] in 'ub' else base.astype(dt)
    name = 'a' + dt.replace('<', 'le').replace('>', 'be').replace('|', '')
    np.save(f'{d}/{name}.npy', a)
    cases[name] = a.astype(np.float64).ravel().tolist()
f = np.asfortranarray(base.astype('<f4'))
np.save(f'{d}/fortran.npy', f)
cases['fortran'] = base.astype(np.float64).ravel().tolist()
with open(f'{d}/v2.npy', 'wb') as fh:
    np.lib.format.write_array(fh, base.astype('<f4'), version=(2, 0))
cases['v2'] = base.astype(np.float64).ravel().tolist()
np.savez_compressed(f'{d}/pair.npz', x=base.astype('<f4'), y=np.array([3, 1], dtype='<i8'))
print(json.dumps(cases))
`;
    const expected = JSON.parse(execFileSync('python3', ['-c', script, dir], { encoding: 'utf8' })) as Record<string, number[]>;
    for (const [name, values] of Object.entries(expected)) {
      const array = parseNpy(readFileSync(join(dir, `${name}.npy`)), name);
      expect(array.shape, name).toEqual([2, 3, 4]);
      expect(Array.from(array.data), name).toEqual(values.map((v) => (name.includes('f4') || name === 'fortran' || name === 'v2' ? Math.fround(v) : v)));
    }
    const npz = parseNpz(readFileSync(join(dir, 'pair.npz')), 'pair.npz');
    expect(Object.keys(npz).sort()).toEqual(['x', 'y']);
    expect(npz.x!.shape).toEqual([2, 3, 4]);
    expect(Array.from(npz.y!.data)).toEqual([3, 1]);
  });
});

describe('bad files', () => {
  test('a file that is not .npy, or is cut short, is a RobustestError saying what was expected', () => {
    expect(() => parseNpy(new Uint8Array([1, 2, 3]), 'x.npy')).toThrow(RobustestError);
    expect(() => parseNpy(new Uint8Array([1, 2, 3]), 'x.npy')).toThrow(/x\.npy is not a \.npy file/);
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (10,), }".padEnd(118, ' ') + '\n';
    const bytes = new Uint8Array([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length, 0, ...Buffer.from(header, 'latin1'), 0, 0, 0, 0]);
    expect(() => parseNpy(bytes, 'short.npy')).toThrow(/shorter than its header says/);
    expect(() => parseNpz(new Uint8Array([1, 2, 3]), 'x.npz')).toThrow(/not a \.npz archive/);
  });
});
