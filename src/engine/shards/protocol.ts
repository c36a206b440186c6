/** Messages between evaluate and its shard workers: plain data only. */
import type { TransferableModel } from '../../model/classifier.js';
import type { AttackRecipe } from '../../attacks/types.js';

export interface ShardInit {
  model: TransferableModel;
  backend: string;
}

export interface ShardTask {
  id: number;
  recipe: AttackRecipe;
  inputs: Float32Array;
  shape: number[];
  labels: Int32Array;
  epsilon: number | undefined;
  seed: number;
  batchSize: number | undefined;
  sampleIds: number[];
}

/** An AttackRun with its adversarials as data. */
export interface PlainRun {
  success: boolean[];
  distances: number[];
  adversarials: Float32Array;
  adversarialClasses: number[];
  adversarialConfidences: number[];
  gradientEvaluations: number;
  queries: number[];
}

export type ShardReply = { id: number; run: PlainRun } | { id: number; error: { message: string; name: string } } | { ready: true } | { failed: string };
