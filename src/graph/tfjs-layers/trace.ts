/**
 * Reads the layer graph of a tfjs-layers model (Sequential or functional, models nested as
 * layers included) into a topologically ordered list of layer calls over numbered value slots.
 */
import type { LayerLike } from './layer.js';

interface SymbolicTensorLike {
  readonly id: number;
  readonly sourceLayer: LayerLike;
  readonly inputs: SymbolicTensorLike[];
  readonly callArgs?: Record<string, unknown>;
  readonly outputTensorIndex?: number;
  readonly shape?: (number | null)[];
}

interface ContainerLike {
  readonly layers: unknown[];
  readonly inputs: SymbolicTensorLike[];
  readonly outputs: SymbolicTensorLike[];
}

export interface LayerCall {
  readonly layer: LayerLike;
  readonly inputs: number[];
  readonly output: number;
  /** Which output of a multi-output layer this call's slot holds. */
  readonly outputIndex: number;
  readonly callArgs: Record<string, unknown>;
  /** Symbolic shapes of the inputs and the output (batch dimension null). */
  readonly inputShapes: (number | null)[][];
  readonly outputShape: (number | null)[];
}

export interface LayerGraph {
  /** Slot of the model input. */
  readonly input: number;
  /** Slot of the model output. */
  readonly output: number;
  readonly calls: LayerCall[];
  readonly slots: number;
  /** Rank of the model output. */
  readonly outputRank: number;
}

function isContainer(value: unknown): value is ContainerLike {
  const c = value as ContainerLike;
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray(c.layers) &&
    Array.isArray(c.inputs) &&
    Array.isArray(c.outputs) &&
    c.inputs.every(isSymbolic) &&
    c.outputs.every(isSymbolic)
  );
}

function isSymbolic(value: unknown): value is SymbolicTensorLike {
  const t = value as SymbolicTensorLike;
  return typeof value === 'object' && value !== null && typeof t.id === 'number' && typeof t.sourceLayer === 'object' && Array.isArray(t.inputs);
}

class GraphIncomplete extends Error {}

/** The graph of a single-input, single-output model; null when it is not one. */
export function traceLayers(model: unknown): LayerGraph | null {
  if (!isContainer(model) || model.inputs.length !== 1 || model.outputs.length !== 1) return null;
  const calls: LayerCall[] = [];
  let slots = 0;

  // Each container invocation gets its own memo: a nested model applied twice is two subgraphs.
  const visit = (t: SymbolicTensorLike, memo: Map<number, number>, bound: Map<number, number>): number => {
    const known = memo.get(t.id) ?? bound.get(t.id);
    if (known !== undefined) return known;
    const layer = t.sourceLayer;
    if (t.inputs.length === 0) throw new GraphIncomplete(`${layer.name} is an input the model was not given`);
    const inputs = t.inputs.map((i) => visit(i, memo, bound));
    let slot: number;
    const index = t.outputTensorIndex ?? 0;
    if (isContainer(layer) && layer.inputs.length === inputs.length && layer.outputs[index]) {
      const inner = new Map<number, number>();
      layer.inputs.forEach((i, k) => inner.set(i.id, inputs[k]!));
      slot = visit(layer.outputs[index]!, new Map(), inner);
    } else {
      slot = slots++;
      calls.push({ layer, inputs, output: slot, outputIndex: index, callArgs: t.callArgs ?? {}, inputShapes: t.inputs.map((i) => i.shape ?? []), outputShape: t.shape ?? [] });
    }
    memo.set(t.id, slot);
    return slot;
  };

  const input = slots++;
  try {
    const output = visit(model.outputs[0]!, new Map(), new Map([[model.inputs[0]!.id, input]]));
    return { input, output, calls, slots, outputRank: model.outputs[0]!.shape?.length ?? 0 };
  } catch (error) {
    if (error instanceof GraphIncomplete) return null;
    throw error;
  }
}
