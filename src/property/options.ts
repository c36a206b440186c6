/** Checks the options of fuzz() and checkInvariance(): every mistake is named, none ignored. */
import type * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show } from '../errors.js';
import { DEFAULT_SEED } from '../engine/random.js';
import type { NestedArray, Samples } from '../samples.js';
import type { Classifier, ModelLike } from '../model/classifier.js';

/** A Classifier, or anything classifier() wraps: a tf.LayersModel, a tf.GraphModel, a function. */
export type ModelInput = Classifier | ModelLike | object;

/** Inputs to check: samples with or without labels, or the inputs alone. */
export type FuzzInputs = Samples | { inputs: Samples['inputs']; labels?: Samples['labels'] } | tf.Tensor | NestedArray[];

export interface FuzzOptions {
  /** The inputs. With labels, only the inputs the model classifies correctly are checked. */
  on: FuzzInputs;
  /** Perturbations drawn. Default 100. */
  numRuns?: number;
  /** fast-check seed (a 32-bit integer). Default 0, so every run draws the same perturbations. */
  seed?: number;
  /** A counterexample path printed by a failure: with `seed`, replays that exact case. */
  path?: string;
  /** Fraction of checked inputs that must keep their class under every perturbation. Default 1. */
  atLeast?: number;
  /** Rows per model call. Default: up to 256, fewer where the model's activations need it. */
  batchSize?: number;
  /** Cancels the run: it rejects with a RobustestError of code 'ABORTED' and frees what it made. */
  signal?: AbortSignal;
}

export interface InvarianceOptions {
  on: FuzzInputs;
  /** Fraction of checked inputs whose class must not change. Default 1. */
  atLeast?: number;
  batchSize?: number;
  /** Cancels the run, as for fuzz(). */
  signal?: AbortSignal;
}

export const DEFAULT_NUM_RUNS = 100;

export interface ResolvedFuzzOptions {
  on: FuzzInputs;
  numRuns: number;
  seed: number;
  path: string | null;
  atLeast: number;
  /** Undefined: sized from the model's memory once the inputs are known. */
  batchSize: number | undefined;
  signal: AbortSignal | undefined;
}

export interface ResolvedInvarianceOptions {
  on: FuzzInputs;
  atLeast: number;
  /** Undefined: sized from the model's memory once the inputs are known. */
  batchSize: number | undefined;
  signal: AbortSignal | undefined;
}

const FUZZ_KEYS = ['on', 'numRuns', 'seed', 'path', 'atLeast', 'batchSize', 'signal'];
const INVARIANCE_KEYS = ['on', 'atLeast', 'batchSize', 'signal'];

function checkObject(options: unknown, keys: string[], where: string): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new RobustestError('INVALID_OPTION', `${where} needs an options object with the inputs to check.`, {
      expected: `{ ${keys.join(', ')} }`,
      received: show(options),
    });
  }
  const record = options as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !keys.includes(k));
  if (unknown.length > 0) {
    throw new RobustestError('INVALID_OPTION', `${where}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `\`${k}\``).join(', ')}.`, {
      expected: `options among ${keys.join(', ')}`,
      received: unknown.join(', '),
    });
  }
  if (record.on === undefined || record.on === null) {
    throw new RobustestError('INVALID_OPTION', `${where}: \`on\` names the inputs to check.`, {
      expected: 'on: { inputs, labels? } or an input tensor',
      received: show(record.on),
    });
  }
  return record;
}

function positiveInteger(value: unknown, fallback: number, name: string, where: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RobustestError('INVALID_OPTION', `${where}: ${name} must be a positive integer.`, { expected: 'an integer ≥ 1', received: show(value) });
  }
  return value;
}

function fraction(value: unknown, where: string): number {
  if (value === undefined) return 1;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || value > 1) {
    throw new RobustestError('INVALID_OPTION', `${where}: atLeast is a fraction of the checked inputs.`, {
      expected: 'a number in [0, 1]',
      received: show(value),
    });
  }
  return value;
}

export function checkFuzzOptions(options: unknown, where: string): ResolvedFuzzOptions {
  const o = checkObject(options, FUZZ_KEYS, where);
  const seed = o.seed ?? DEFAULT_SEED;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < -0x80000000 || seed > 0x7fffffff) {
    throw new RobustestError('INVALID_OPTION', `${where}: seed must be a 32-bit integer.`, {
      expected: 'an integer in [-2147483648, 2147483647]',
      received: show(seed),
    });
  }
  let path: string | null = null;
  if (o.path !== undefined) {
    if (typeof o.path !== 'string' || !/^\d+(:\d+)*$/.test(o.path)) {
      throw new RobustestError('INVALID_OPTION', `${where}: path is the counterexample path a failure printed.`, {
        expected: 'a string like "37:2:0"',
        received: show(o.path),
      });
    }
    path = o.path;
  }
  return {
    on: o.on as FuzzInputs,
    numRuns: positiveInteger(o.numRuns, DEFAULT_NUM_RUNS, 'numRuns', where),
    seed,
    path,
    atLeast: fraction(o.atLeast, where),
    batchSize: o.batchSize === undefined ? undefined : positiveInteger(o.batchSize, 1, 'batchSize', where),
    signal: abortSignal(o.signal, where),
  };
}

export function checkInvarianceOptions(options: unknown, where: string): ResolvedInvarianceOptions {
  const o = checkObject(options, INVARIANCE_KEYS, where);
  return {
    on: o.on as FuzzInputs,
    atLeast: fraction(o.atLeast, where),
    batchSize: o.batchSize === undefined ? undefined : positiveInteger(o.batchSize, 1, 'batchSize', where),
    signal: abortSignal(o.signal, where),
  };
}

/** The signal to run under, read before the options are checked (a bad one is reported by the check). */
export function signalOf(options: unknown): AbortSignal | undefined {
  const signal = (options as { signal?: unknown } | null)?.signal;
  return signal instanceof AbortSignal ? signal : undefined;
}

function abortSignal(value: unknown, where: string): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw new RobustestError('INVALID_OPTION', `${where}: signal must be an AbortSignal.`, { expected: 'an AbortSignal (new AbortController().signal)', received: show(value) });
}
