/**
 * Classifier: one interface over tfjs LayersModels, GraphModels, plain functions (and ONNX
 * sessions through onnxClassifier). Attacks only ever see this interface.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show, shapeString } from '../errors.js';
import { ensureBackend } from '../backend.js';
import { autodiffValueAndGradient } from '../engine/tfjs/autodiff.js';
import type { GradientResult, LossFn, Network } from '../engine/tfjs/types.js';
import { compileGraph } from '../engine/tfjs/compile.js';
import { importLayersModel } from '../graph/tfjs-layers/import.js';
import { UnsupportedNode, type ModelGraph } from '../graph/types.js';
import { importGraphModel, type GraphModelLike } from '../graph/tfjs-graph/index.js';
import { notice } from '../engine/tfjs/notices.js';
import { checkScoreLayout, checkScores, looksLikeProbabilities, notProbabilities } from './outputs.js';
import { modelFailure } from './failure.js';
import { peakBytesOf } from '../engine/hygiene.js';
import { discardFailedTape } from '../engine/tfjs/tape.js';
import { onLogProbabilities, onLogProbabilitiesNative } from './log-probabilities.js';
import { onnxruntimeFor } from '../engine/select.js';
import type { OrtNetwork } from '../engine/onnxruntime/index.js';
import type { HostGradient } from '../engine/host-gradient.js';
import { checkedHostGradient } from './checked-host-gradient.js';

export type OutputKind = 'logits' | 'probabilities' | 'auto';
export type Bounds = readonly [number, number];

export interface ClassifierOptions {
  /** Valid input range; inputs and adversarials stay inside. Default [0, 1]. */
  bounds?: Bounds;
  /** What the model outputs. 'auto' detects softmax outputs. Default 'auto'. */
  outputs?: OutputKind;
  /** A name for reports and messages. */
  name?: string;
}

const CLASSIFIER = Symbol.for('robustest.classifier');

export interface Classifier {
  readonly [CLASSIFIER]: true;
  readonly kind: 'layers' | 'graph' | 'function' | 'onnx';
  readonly name: string;
  readonly bounds: Bounds;
  /** Declared output kind; `outputKind()` resolves 'auto'. */
  readonly outputs: OutputKind;
  /** Shape of one input (without the batch dimension), when known. */
  readonly inputShape: readonly number[] | null;
  /** Number of classes, when known (always known after the first prediction). */
  readonly numClasses: number | null;
  /** Whether input gradients are available (white-box attacks need them). */
  readonly differentiable: boolean;
  /** Logits for a batch (log-probabilities for probability outputs). Caller disposes. */
  logits(x: tf.Tensor): Promise<tf.Tensor2D>;
  /**
   * Logits from the model's own runtime, where the executor running `logits` is another one (the
   * onnxruntime executor, whose last bits may differ): clean predictions and the final check of
   * every adversarial use these, so a verdict is the model's own. The same as `logits` when no
   * other executor runs the model; absent where `logits` is always the model's own (ONNX sessions).
   */
  verdictLogits?(x: tf.Tensor): Promise<tf.Tensor2D>;
  /** Logits and the input gradient of a per-sample loss on them. Caller disposes. */
  valueAndGradient(x: tf.Tensor, loss: LossFn): Promise<GradientResult>;
  /**
   * Logits and input gradient of `loss` for batches in host memory (src/engine/host-gradient.ts),
   * where the executor running the model offers them for that loss; null (or absent) otherwise,
   * and before the classifier has checked its outputs on a first prediction.
   */
  hostGradient?(loss: LossFn): Promise<HostGradient | null>;
  /** How gradients are computed, for reports. */
  readonly gradientPath: string;
  /**
   * What runs the model's passes: 'onnxruntime' once the onnxruntime executor has been chosen for
   * it (src/engine/select.ts), else 'tfjs'.
   */
  readonly engine?: 'tfjs' | 'onnxruntime';
  /**
   * Peak bytes of tfjs tensors one input gradient on `x` allocates (every activation and its
   * gradient); sizes default batches. Absent where the model runs outside tfjs.
   */
  activationBytes?(x: tf.Tensor): Promise<number>;
  /**
   * The model graph robustest reads the model as (src/graph/): null for models it cannot see
   * into (plain functions). Owned by the classifier; the caller never disposes it.
   */
  graph?(): ModelGraph | null;
  /** The model as data another thread can load, when it can be serialised (LayersModels). */
  transferable?(): Promise<TransferableModel | null>;
}

/** A LayersModel's topology and weights, with the classifier options to wrap it again. */
export interface TransferableModel {
  artifacts: tf.io.ModelArtifacts;
  options: { bounds: [number, number]; outputs: OutputKind; name: string };
}

/**
 * What `classifier()` accepts. Structural, so that models from any copy of tfjs-layers or
 * tfjs-converter type-check: a LayersModel (predict + layers), a GraphModel (execute), a
 * function from inputs to class scores, or a Classifier.
 */
export type ModelLike =
  | { predict: (...args: never[]) => unknown; layers: readonly unknown[] }
  | { execute: (...args: never[]) => unknown }
  | ((x: tf.Tensor) => tf.Tensor)
  | Classifier;

/** Logits from the model's own runtime: `verdictLogits` where the classifier has it, else `logits`. */
export function verdictLogits(clf: Classifier, x: tf.Tensor): Promise<tf.Tensor2D> {
  return clf.verdictLogits?.(x) ?? clf.logits(x);
}

/** Whether final verdicts come from another runtime than the executor that answers `logits`. */
export function verdictsElsewhere(clf: Classifier): boolean {
  return clf.engine === 'onnxruntime' && clf.verdictLogits !== undefined;
}

export function isClassifier(value: unknown): value is Classifier {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[CLASSIFIER] === true;
}

/** Wraps a model so robustest can attack it. A Classifier passed in is returned as is. */
export function classifier(model: ModelLike | unknown, options: ClassifierOptions = {}): Classifier {
  if (isClassifier(model)) return model;
  const bounds = validateBounds(options.bounds ?? [0, 1]);
  const outputs = options.outputs ?? 'auto';
  if (!['logits', 'probabilities', 'auto'].includes(outputs)) {
    throw new RobustestError('INVALID_OPTION', 'classifier(): unknown `outputs` option.', {
      expected: "'logits' | 'probabilities' | 'auto'",
      received: show(outputs),
    });
  }
  if (isLayersModel(model)) return new TfjsClassifier('layers', model, bounds, outputs, options.name);
  if (isGraphModel(model)) return new TfjsClassifier('graph', model, bounds, outputs, options.name);
  if (typeof model === 'function') return new TfjsClassifier('function', model as (x: tf.Tensor) => tf.Tensor, bounds, outputs, options.name);
  throw new RobustestError('INVALID_MODEL', 'classifier() cannot wrap this model.', {
    expected: 'a tf.LayersModel, a tf.GraphModel, a function (x: tf.Tensor) => tf.Tensor, or a Classifier',
    received: show(model),
  });
}

function validateBounds(bounds: unknown): Bounds {
  if (
    !Array.isArray(bounds) ||
    bounds.length !== 2 ||
    !bounds.every((b) => typeof b === 'number' && Number.isFinite(b)) ||
    !(bounds[0] < bounds[1])
  ) {
    throw new RobustestError('INVALID_OPTION', 'classifier(): `bounds` must be two finite numbers [low, high] with low < high.', {
      expected: '[low, high], e.g. [0, 1]',
      received: show(bounds),
    });
  }
  return [bounds[0], bounds[1]] as const;
}

interface LayersLike {
  layers: unknown[];
  inputs: { shape: (number | null)[] }[];
  outputs: { shape: (number | null)[] }[];
  predict(x: tf.Tensor): tf.Tensor | tf.Tensor[];
  name?: string;
}
interface GraphLike {
  execute(x: tf.Tensor): tf.Tensor | tf.Tensor[];
  inputs: { shape?: number[] }[];
  outputs: { shape?: number[] }[];
}

function isLayersModel(m: unknown): m is LayersLike {
  return typeof m === 'object' && m !== null && Array.isArray((m as LayersLike).layers) && typeof (m as LayersLike).predict === 'function';
}
function isGraphModel(m: unknown): m is GraphLike {
  return typeof m === 'object' && m !== null && typeof (m as GraphLike).execute === 'function' && 'modelSignature' in m;
}

function perSampleShape(shape: readonly (number | null | undefined)[] | undefined): number[] | null {
  if (!shape || shape.length < 2) return null;
  const rest = shape.slice(1);
  return rest.every((d) => typeof d === 'number' && d > 0) ? (rest as number[]) : null;
}

class TfjsClassifier implements Classifier {
  readonly [CLASSIFIER] = true as const;
  readonly name: string;
  inputShape: number[] | null;
  numClasses: number | null;
  private network: Network | undefined;
  private imported: ModelGraph | null | undefined;
  /** The onnxruntime executor, when src/engine/select.ts picks it for this model's graph. */
  private native: Promise<OrtNetwork | null> | undefined;
  private nativeChosen: OrtNetwork | null = null;
  /** Set once the outputs are known to be probabilities that no peeled softmax accounts for. */
  private probabilityOutputs = false;

  constructor(
    readonly kind: 'layers' | 'graph' | 'function',
    private readonly model: LayersLike | GraphLike | ((x: tf.Tensor) => tf.Tensor),
    readonly bounds: Bounds,
    readonly outputs: OutputKind,
    name: string | undefined,
  ) {
    if (kind === 'function') {
      const fn = model as (x: tf.Tensor) => tf.Tensor;
      this.name = name ?? (fn.name || 'model');
      this.inputShape = null;
      this.numClasses = null;
    } else {
      const m = model as LayersLike | GraphLike;
      this.name = name ?? ((m as LayersLike).name || (kind === 'layers' ? 'LayersModel' : 'GraphModel'));
      this.inputShape = perSampleShape(m.inputs?.[0]?.shape);
      const out = perSampleShape(m.outputs?.[0]?.shape);
      this.numClasses = out && out.length === 1 ? out[0]! : null;
    }
  }

  get differentiable(): boolean {
    return true;
  }

  get gradientPath(): string {
    return this.nativeChosen?.gradientPath ?? this.net().gradientPath;
  }

  get engine(): 'tfjs' | 'onnxruntime' {
    return this.nativeChosen ? 'onnxruntime' : 'tfjs';
  }

  private onnxruntime(): Promise<OrtNetwork | null> {
    const graph = this.graph();
    if (!graph) return Promise.resolve(null);
    this.native ??= onnxruntimeFor(graph).then((network) => (this.nativeChosen = network));
    return this.native;
  }

  /** The onnxruntime executor as this classifier reads its outputs, once they are checked. */
  private nativeView(native: OrtNetwork): OrtNetwork {
    return this.probabilityOutputs && !native.peeledSoftmax ? onLogProbabilitiesNative(native) : native;
  }

  private raw(x: tf.Tensor): tf.Tensor2D {
    let out: tf.Tensor | tf.Tensor[];
    if (this.kind === 'function') {
      // Called on its own, as the user wrote it: never with the classifier as `this`.
      const fn = this.model as (x: tf.Tensor) => tf.Tensor;
      out = fn(x);
    }
    else if (this.kind === 'layers') out = (this.model as LayersLike).predict(x);
    else out = (this.model as GraphLike).execute(x);
    if (Array.isArray(out)) {
      if (out.length !== 1) {
        throw new RobustestError('INVALID_MODEL', `${this.name} returns ${out.length} outputs; robustest attacks single-output classifiers.`, {
          expected: 'one output tensor of shape [N, classes]',
          received: `${out.length} tensors`,
        });
      }
      out = out[0]!;
    }
    if (!(out instanceof tf.Tensor)) {
      throw new RobustestError('INVALID_OUTPUT', `${this.name} must return class scores of shape [N, classes].`, {
        expected: `a tf.Tensor [${x.shape[0]}, classes]`,
        received: show(out),
      });
    }
    checkScoreLayout(this.name, out.shape, out.dtype, x.shape[0]!);
    return out as tf.Tensor2D;
  }

  graph(): ModelGraph | null {
    if (this.imported === undefined) this.imported = this.kind === 'layers' ? importLayersModel(this.model) : this.kind === 'graph' ? this.importGraph() : null;
    return this.imported;
  }

  /** A GraphModel's graph; null (tf.grad then differentiates it) when a node has no rule. */
  private importGraph(): ModelGraph | null {
    try {
      return importGraphModel(this.model as unknown as GraphModelLike, this.inputShape ? { inputShape: this.inputShape } : {});
    } catch (error) {
      if (!(error instanceof UnsupportedNode)) throw error;
      notice(`graph:${error.source}`, `${this.name}: node ${error.source} cannot be read (${error.why}); tf.grad differentiates the whole model instead.`);
      return null;
    }
  }

  private net(): Network {
    if (this.network) return this.network;
    const graph = this.graph();
    this.network = graph
      ? compileGraph(graph)
      : {
          forward: (x) => tf.tidy(() => this.raw(x)),
          valueAndGradient: (x, loss) => autodiffValueAndGradient((input) => this.raw(input), x, loss),
          gradientPath: 'tf.grad',
          peeledSoftmax: false,
          dispose() {},
        };
    return this.network;
  }

  /** Resolves 'auto', and checks a 'logits' claim, once, on the first batch seen. */
  private checkOutputs(x: tf.Tensor): void {
    if (this.outputsChecked) return;
    const network = this.net();
    if (network.peeledSoftmax) {
      if (this.outputs === 'logits') throw this.notLogits('its last layer applies softmax');
      this.outputsChecked = true;
      return;
    }
    const probe = tf.tidy(() => this.raw(x));
    if (this.outputs === 'probabilities') {
      const fine = looksLikeProbabilities(probe);
      if (!fine) {
        const error = notProbabilities(this.name, probe, "outputs: 'logits' (or 'auto')");
        probe.dispose();
        throw error;
      }
      probe.dispose();
      this.network = onLogProbabilities(network);
      this.probabilityOutputs = true;
      this.outputsChecked = true;
      return;
    }
    const probabilities = looksLikeProbabilities(probe);
    this.numClasses ??= probe.shape[1];
    probe.dispose();
    if (this.outputs === 'logits' && probabilities) throw this.notLogits('every output row is in [0, 1] and sums to 1');
    if (probabilities) this.network = onLogProbabilities(network);
    this.probabilityOutputs = probabilities;
    this.outputsChecked = true;
  }
  private outputsChecked = false;

  private notLogits(evidence: string): RobustestError {
    return new RobustestError(
      'NOT_LOGITS',
      `${this.name} was declared to output logits, but it outputs probabilities (${evidence}). Gradients through a saturated softmax vanish and make attacks look weaker than they are.`,
      { expected: "logits, or classifier(model, { outputs: 'probabilities' }) / { outputs: 'auto' }", received: 'probabilities' },
    );
  }

  async logits(x: tf.Tensor): Promise<tf.Tensor2D> {
    await ensureBackend();
    const native = await this.onnxruntime();
    if (native) {
      this.guard(x, () => this.checkOutputs(x));
      const z = await this.guardAsync(x, () => this.nativeView(native).forward(x));
      return this.checked(x, z);
    }
    return this.verdictLogits(x);
  }

  async verdictLogits(x: tf.Tensor): Promise<tf.Tensor2D> {
    await ensureBackend();
    return this.guard(x, () => {
      this.checkOutputs(x);
      return this.checked(x, this.net().forward(x));
    });
  }

  /** `z` once its shape and values are known to be class scores for `x`; disposed otherwise. */
  private checked(x: tf.Tensor, z: tf.Tensor2D): tf.Tensor2D {
    this.numClasses ??= z.shape[1];
    try {
      checkScores(this.name, z, x.shape[0]!);
    } catch (error) {
      z.dispose();
      throw error;
    }
    return z;
  }

  async valueAndGradient(x: tf.Tensor, loss: LossFn): Promise<GradientResult> {
    await ensureBackend();
    const native = await this.onnxruntime();
    if (native) {
      this.guard(x, () => this.checkOutputs(x));
      return this.checkedResult(x, await this.guardAsync(x, () => this.nativeView(native).valueAndGradient(x, loss)));
    }
    return this.guard(x, () => {
      this.checkOutputs(x);
      return this.checkedResult(x, this.net().valueAndGradient(x, loss));
    });
  }

  async hostGradient(loss: LossFn): Promise<HostGradient | null> {
    const native = await this.onnxruntime();
    const gradient = native && this.outputsChecked ? this.nativeView(native).hostGradient(loss) : null;
    return gradient && checkedHostGradient(gradient, this.name, this.inputShape, (x, error) => this.failure(x, error));
  }

  private checkedResult(x: tf.Tensor, result: GradientResult): GradientResult {
    try {
      checkScores(this.name, result.logits, x.shape[0]!);
    } catch (error) {
      tf.dispose([result.logits, result.loss, result.gradient]);
      throw error;
    }
    return result;
  }

  async activationBytes(x: tf.Tensor): Promise<number> {
    await ensureBackend();
    return this.guard(x, () => {
      this.checkOutputs(x);
      try {
        return peakBytesOf(() => {
          const r = this.net().valueAndGradient(x, (z) => tf.sum(z, 1) as tf.Tensor1D);
          tf.dispose([r.logits, r.loss, r.gradient]);
        });
      } catch {
        // A model tf.grad cannot differentiate still has a forward pass to size query batches by.
        discardFailedTape();
        return peakBytesOf(() => this.net().forward(x).dispose());
      }
    });
  }

  async transferable(): Promise<TransferableModel | null> {
    const save = (this.model as { save?: (handler: tf.io.IOHandler) => Promise<unknown> }).save;
    if (this.kind !== 'layers' || typeof save !== 'function') return null;
    let artifacts: tf.io.ModelArtifacts | undefined;
    await save.call(
      this.model,
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    if (!artifacts) return null;
    return { artifacts, options: { bounds: [this.bounds[0], this.bounds[1]], outputs: this.outputs, name: this.name } };
  }

  /** Turns a failure inside the user's model into an error that names its cause and the input it was given. */
  private guard<T>(x: tf.Tensor, body: () => T): T {
    try {
      return body();
    } catch (error) {
      throw this.failure(x, error);
    }
  }

  private async guardAsync<T>(x: tf.Tensor, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw this.failure(x, error);
    }
  }

  private failure(x: Pick<tf.Tensor, 'shape'>, error: unknown): Error {
    return modelFailure(error, {
      name: this.name,
      shape: x.shape,
      expected: this.inputShape ? `inputs of shape ${shapeString([null, ...this.inputShape])}` : 'inputs the model accepts',
      runtime: this.nativeChosen ? 'the onnxruntime executor' : undefined,
      hint: this.kind === 'function' ? functionHint(this.model as (x: tf.Tensor) => tf.Tensor, error) : undefined,
    });
  }
}

/** What a failing function model most likely got wrong. */
function functionHint(fn: (x: tf.Tensor) => tf.Tensor, error: unknown): string {
  const onUndefined = error instanceof TypeError && /of undefined|of null|undefined is not|null is not/.test(error.message);
  if (onUndefined && usesThis(fn)) {
    const name = fn.name.replace(/^bound /, '') || 'predict';
    return `It looks like a method passed without its object (it reads \`this\`): pass the model itself, classifier(model), or bind it, classifier((x) => model.${name}(x)).`;
  }
  return 'A function model receives one tf.Tensor of shape [N, ...inputShape] (not an array) and must return a tf.Tensor of class scores [N, classes].';
}

/** Whether a function's own code reads `this` (true of methods such as LayersModel.predict). */
function usesThis(fn: (x: tf.Tensor) => tf.Tensor): boolean {
  const source = Function.prototype.toString.call(fn);
  return !source.startsWith('(') && !/^\w+\s*=>/.test(source) && /\bthis\b/.test(source);
}
