/** One-time notices on stderr about how gradients are computed (once per key per process). */
const shown = new Set<string>();

export function notice(key: string, message: string): void {
  if (shown.has(key)) return;
  shown.add(key);
  if (typeof process !== 'undefined' && typeof process.stderr?.write === 'function') process.stderr.write(`robustest: ${message}\n`);
  else console.warn(`robustest: ${message}`);
}
