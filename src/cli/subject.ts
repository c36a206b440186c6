/** The model and inputs a command runs on, loaded from its arguments: data sized to the model. */
import { loadData, type DataOptions, type Dataset } from './data.js';
import { loadModel, type LoadedModel } from './models.js';

export interface SubjectOptions extends DataOptions {
  model: string;
  data: string;
  bounds: [number, number];
  outputs?: 'logits' | 'probabilities' | 'auto';
}

export async function loadSubject(options: SubjectOptions): Promise<{ loaded: LoadedModel; data: Dataset }> {
  const loaded = await loadModel(options.model, { bounds: options.bounds, outputs: options.outputs, layout: options.layout });
  try {
    const shape = loaded.clf.inputShape;
    const image = shape !== null && shape.length === 3;
    const data = loadData(options.data, {
      ...options,
      // Images are decoded at the model's size and channel count unless told otherwise.
      size: options.size ?? (image ? [shape[0]!, shape[1]!] : null),
      channels: options.channels ?? (image && shape[2] === 1 ? 1 : 3),
    });
    return { loaded, data };
  } catch (error) {
    await loaded.release();
    throw error;
  }
}
