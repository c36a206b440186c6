/** Wall-clock helpers: medians of repeated runs, and number formatting for the report. */

/** Median milliseconds of `runs` calls after `warmup` unmeasured ones. */
export async function medianMs(body: () => unknown, runs = 15, warmup = 3): Promise<number> {
  for (let i = 0; i < warmup; i++) await body();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await body();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/**
 * Median milliseconds of each body, measured in alternation (A, B, A, B, …) so that a change in
 * machine load affects both alike.
 */
export async function interleavedMedians(bodies: readonly (() => unknown)[], runs = 25, warmup = 3): Promise<number[]> {
  for (let i = 0; i < warmup; i++) for (const body of bodies) await body();
  const times = bodies.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    for (const [k, body] of bodies.entries()) {
      const start = performance.now();
      await body();
      times[k]!.push(performance.now() - start);
    }
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}

export async function seconds<T>(body: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = performance.now();
  const value = await body();
  return { value, seconds: (performance.now() - start) / 1000 };
}

export const ms = (v: number) => `${v.toFixed(2)} ms`;
export const s = (v: number) => `${v.toFixed(2)} s`;
export const ratio = (v: number) => `${v.toFixed(2)}×`;
export const count = (v: number) => v.toLocaleString('en-US');
export const percent = (v: number) => `${(v * 100).toFixed(1)}%`;
export const accuracies = (values: readonly number[]) => values.map((v) => v.toFixed(3)).join(' ');
