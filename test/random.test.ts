import { describe, expect, it } from 'vitest';
import { Rng } from '../src/index.js';

const take = (r: Rng, n: number) => Array.from({ length: n }, () => r.next());

describe('Rng', () => {
  it('the same seed gives the same stream; another seed another one', () => {
    expect(take(new Rng(7), 5)).toEqual(take(new Rng(7), 5));
    expect(take(new Rng(7), 5)).not.toEqual(take(new Rng(8), 5));
  });

  it('split streams are independent of the parent and of the order they are used in', () => {
    const a = new Rng(3);
    const first = take(a.split('restart').split(1), 4);
    take(a, 100);
    const b = new Rng(3);
    take(b.split('other'), 50);
    expect(take(b.split('restart').split(1), 4)).toEqual(first);
    expect(take(b.split('restart').split(2), 4)).not.toEqual(first);
  });

  it('uniform values are in range and look uniform; normals have mean 0 and variance 1', () => {
    const r = new Rng(11);
    const u = take(r, 20000);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(Math.abs(u.reduce((a, b) => a + b) / u.length - 0.5)).toBeLessThan(0.01);
    const z = Array.from({ length: 20000 }, () => r.normal());
    const mean = z.reduce((a, b) => a + b) / z.length;
    const variance = z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
    const ints = new Set(Array.from({ length: 1000 }, () => r.int(10)));
    expect([...ints].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('no Math.random anywhere in src/', async () => {
    const { execSync } = await import('node:child_process');
    const hits = execSync('grep -rn "Math.random" src || true', { cwd: new URL('..', import.meta.url).pathname, encoding: 'utf8' });
    expect(hits).toBe('');
  });
});
