/** The tfjs engine's network for a LayersModel: its graph, compiled; null when it has none. */
import { compileGraph } from '../../src/engine/tfjs/compile.js';
import type { Network } from '../../src/engine/tfjs/types.js';
import { importLayersModel } from '../../src/graph/tfjs-layers/import.js';

export function layersNetwork(model: unknown): Network | null {
  const graph = importLayersModel(model);
  return graph ? compileGraph(graph) : null;
}
