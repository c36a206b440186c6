/**
 * Exact GELU as exporters spell it before ONNX had a Gelu op (PyTorch's nn.GELU, opset < 20):
 *   Div(x, √2) → Erf → Add 1 → Mul x → Mul 0.5     (or Mul(x, 0.5) · (1 + erf))
 * The last Mul is rewritten as one Gelu node reading x; the rest is no longer on the path to the
 * output, so the importer never visits it (Erf alone has no graph rule).
 */
import type { NodeProto } from './proto.js';

/** Scalar values known at import time, by value name. */
export type ScalarOf = (name: string) => number | undefined;

const close = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) <= 1e-4 * Math.abs(b);

export function fuseGelu(nodes: readonly NodeProto[], scalarOf: ScalarOf): NodeProto[] {
  const producer = new Map<string, NodeProto>();
  const consumers = new Map<string, NodeProto[]>();
  for (const n of nodes) {
    for (const o of n.output ?? []) producer.set(o, n);
    for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const sole = (name: string | undefined) => {
    const c = name === undefined ? undefined : consumers.get(name);
    return c && c.length === 1 ? c[0] : undefined;
  };
  /** For a binary node reading `name`, the other operand. */
  const other = (n: NodeProto, name: string) => {
    const inputs = n.input ?? [];
    return inputs.length === 2 && inputs.includes(name) ? (inputs[0] === name ? inputs[1]! : inputs[0]!) : undefined;
  };
  const isHalfOf = (name: string, x: string) => {
    const h = producer.get(name);
    return h?.opType === 'Mul' && (h.input ?? []).includes(x) && close(scalarOf(other(h, x)!), 0.5);
  };

  const replaced = new Map<NodeProto, NodeProto>();
  for (const erf of nodes) {
    if (erf.opType !== 'Erf') continue;
    const scaled = producer.get(erf.input?.[0] ?? '');
    if (!scaled || (scaled.opType !== 'Div' && scaled.opType !== 'Mul')) continue;
    const [a, b] = scaled.input ?? [];
    const x = scalarOf(b ?? '') !== undefined ? a : b;
    const factor = scalarOf(x === a ? (b ?? '') : (a ?? ''));
    if (x === undefined || !(scaled.opType === 'Div' ? close(factor, Math.SQRT2) && x === a : close(factor, Math.SQRT1_2))) continue;
    const plusOne = sole(erf.output?.[0]);
    const erfOut = erf.output?.[0] ?? '';
    if (plusOne?.opType !== 'Add' || !close(scalarOf(other(plusOne, erfOut) ?? ''), 1)) continue;
    const sum = plusOne.output?.[0] ?? '';
    const times = sole(sum);
    if (times?.opType !== 'Mul') continue;
    const partner = other(times, sum);
    let last: NodeProto | undefined;
    if (partner === x) {
      const half = sole(times.output?.[0]);
      if (half?.opType === 'Mul' && close(scalarOf(other(half, times.output?.[0] ?? '') ?? ''), 0.5)) last = half;
    } else if (partner !== undefined && isHalfOf(partner, x)) {
      last = times;
    }
    if (!last) continue;
    replaced.set(last, { opType: 'Gelu', domain: '', name: `${erf.name || erfOut} (GELU)`, input: [x], output: [...(last.output ?? [])], attribute: [] });
  }
  return nodes.map((n) => replaced.get(n) ?? n);
}
