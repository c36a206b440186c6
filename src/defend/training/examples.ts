/**
 * The training examples of each method, made with the model in inference mode (dropout off,
 * batch statistics frozen) and fresh for every batch. All are synchronous tensor code the caller
 * wraps in tf.tidy; randomness comes from the batch's own Rng stream.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../engine/random.js';
import { crossEntropyPerSample, klPerSample, type ModelView } from './model-view.js';

export interface ExampleContext {
  view: ModelView;
  x: tf.Tensor;
  oneHot: tf.Tensor2D;
  epsilon: number;
  bounds: readonly [number, number];
  rng: Rng;
}

/** Clips into the L∞ ball of radius ε around x and into the input bounds. */
export function projectLinf(candidate: tf.Tensor, x: tf.Tensor, epsilon: number, bounds: readonly [number, number]): tf.Tensor {
  return tf.tidy(() => tf.clipByValue(tf.minimum(tf.maximum(candidate, tf.sub(x, epsilon)), tf.add(x, epsilon)), bounds[0], bounds[1]));
}

function uniformNoise(shape: number[], epsilon: number, rng: Rng): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(rng.fillUniform(new Float32Array(size), -epsilon, epsilon), shape);
}

/** Signed-gradient ascent on `objective` (summed over the batch) from `start`, projected each step. */
function signedAscent(ctx: ExampleContext, start: tf.Tensor, steps: number, stepSize: number, objective: (logP: tf.Tensor2D) => tf.Tensor1D): tf.Tensor {
  const gradient = tf.grad((input: tf.Tensor) => tf.sum(objective(ctx.view.logProbabilities(input, false))));
  let current = start;
  for (let k = 0; k < steps; k++) {
    const next = tf.tidy(() => projectLinf(tf.add(current, tf.mul(tf.sign(gradient(current)), stepSize)), ctx.x, ctx.epsilon, ctx.bounds));
    if (current !== start) current.dispose();
    current = next;
  }
  return current;
}

/** Madry et al.: L∞ PGD on the cross-entropy from a uniform random point of the ball. */
export function pgdExamples(ctx: ExampleContext, steps: number, relativeStepSize: number): tf.Tensor {
  const start = projectLinf(tf.add(ctx.x, uniformNoise(ctx.x.shape, ctx.epsilon, ctx.rng)), ctx.x, ctx.epsilon, ctx.bounds);
  return signedAscent(ctx, start, steps, relativeStepSize * ctx.epsilon, (logP) => crossEntropyPerSample(logP, ctx.oneHot));
}

/** Wong et al. 2020: one signed step of α = relativeStepSize·ε from a uniform start, δ clipped to the ball. */
export function fgsmRsExamples(ctx: ExampleContext, relativeStepSize: number): tf.Tensor {
  const start = projectLinf(tf.add(ctx.x, uniformNoise(ctx.x.shape, ctx.epsilon, ctx.rng)), ctx.x, ctx.epsilon, ctx.bounds);
  return signedAscent(ctx, start, 1, relativeStepSize * ctx.epsilon, (logP) => crossEntropyPerSample(logP, ctx.oneHot));
}

/**
 * Zhang et al. 2019: the point of the ball whose prediction is furthest, in KL, from the clean
 * prediction; the search starts at x + 0.001·N(0, 1) as in the TRADES code.
 */
export function tradesExamples(ctx: ExampleContext, steps: number, relativeStepSize: number): tf.Tensor {
  const clean = tf.tidy(() => ctx.view.logProbabilities(ctx.x, false));
  const size = ctx.x.size;
  const noise = tf.tensor(ctx.rng.fillNormal(new Float32Array(size), 0.001), ctx.x.shape);
  const start = projectLinf(tf.add(ctx.x, noise), ctx.x, ctx.epsilon, ctx.bounds);
  return signedAscent(ctx, start, steps, relativeStepSize * ctx.epsilon, (logP) => klPerSample(clean, logP));
}
