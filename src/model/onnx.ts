/**
 * onnxClassifier: a Classifier over an onnxruntime InferenceSession. Predictions come from the
 * session. Given the model file's bytes too (`model`), robustest imports the ONNX graph
 * (src/graph/onnx/) and computes exact input gradients on it, so white-box attacks run; without
 * them, or when the graph has an op the importer does not know, the classifier is query-only:
 * square, onePixel, hopSkipJump, boundary, the corruptions and spatial run on it, and gradient
 * attacks refuse it with a NOT_DIFFERENTIABLE error naming those.
 *
 * onnxruntime-node is an optional peer: nothing here imports it at load time (not even its
 * types, so robustest's declarations compile without it); the runtime module is loaded on the
 * first prediction, or passed in as `runtime` (e.g. onnxruntime-web).
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, shapeString, show } from '../errors.js';
import { ensureBackend } from '../backend.js';
import type { GradientResult, LossFn, Network } from '../engine/tfjs/types.js';
import { compileGraph } from '../engine/tfjs/compile.js';
import { peakBytesOf } from '../engine/hygiene.js';
import { importOnnx } from '../graph/onnx/index.js';
import { UnsupportedNode, type ModelGraph } from '../graph/types.js';
import { onLogProbabilities, onLogProbabilitiesNative } from './log-probabilities.js';
import { onnxruntimeFor } from '../engine/select.js';
import type { OrtNetwork } from '../engine/onnxruntime/index.js';
import type { HostGradient } from '../engine/host-gradient.js';
import { checkedHostGradient } from './checked-host-gradient.js';
import type { Bounds, Classifier, OutputKind } from './classifier.js';
import { checkFinite, checkScoreLayout, looksLikeProbabilities, notProbabilities } from './outputs.js';
import { modelFailure } from './failure.js';

export interface OnnxClassifierOptions {
  /** The model input to feed. Default: the session's only input. */
  inputName?: string;
  /** The class-score output to read. Default: the session's first output. */
  outputName?: string;
  /**
   * The layout the ONNX model expects. robustest's samples are always NHWC; with 'nchw' each
   * batch is transposed to [N, C, H, W] before it is fed. Default 'nhwc' (also right for
   * [N, features] models).
   */
  layout?: 'nhwc' | 'nchw';
  /** Valid input range. Default [0, 1]. */
  bounds?: Bounds;
  /** What the output holds. 'auto' detects softmax rows. Default 'auto'. */
  outputs?: OutputKind;
  name?: string;
  /**
   * The model file's bytes (what the session was created from). With them robustest reads the
   * graph and computes input gradients, so gradient attacks run on the model.
   */
  model?: Uint8Array;
  /** The onnxruntime module whose Tensor class the session accepts. Default: onnxruntime-node. */
  runtime?: { Tensor: OrtTensorConstructor };
}

/** The parts of an onnxruntime Tensor robustest reads. */
interface OrtTensorLike {
  readonly dims: readonly number[];
  readonly data: unknown;
  readonly type?: string;
}

type OrtTensorConstructor = new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensorLike;

interface ValueMetadataLike {
  readonly isTensor?: boolean;
  readonly shape?: readonly (number | string)[];
}

/** What robustest needs of an InferenceSession (onnxruntime-node's, -web's or -common's). */
export interface OnnxSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** onnxruntime ≥ 1.20: lets robustest check input shapes and learn a fixed batch size. */
  readonly inputMetadata?: readonly ValueMetadataLike[];
  readonly outputMetadata?: readonly ValueMetadataLike[];
  run(feeds: Record<string, unknown>, fetches: string[]): Promise<Record<string, unknown>>;
}

const CLASSIFIER = Symbol.for('robustest.classifier');

export function onnxClassifier(session: OnnxSession, options: OnnxClassifierOptions = {}): Classifier {
  if (session === null || typeof session !== 'object' || typeof session.run !== 'function' || !Array.isArray(session.inputNames)) {
    throw new RobustestError('INVALID_MODEL', 'onnxClassifier() needs an onnxruntime InferenceSession.', {
      expected: "await ort.InferenceSession.create('model.onnx')",
      received: show(session),
    });
  }
  // The brand symbol is shared through the global symbol registry, so classifier() and the
  // attacks recognise this object as a Classifier.
  return new OnnxClassifier(session, options) as unknown as Classifier;
}

class OnnxClassifier {
  readonly [CLASSIFIER] = true as const;
  readonly kind = 'onnx' as const;
  readonly name: string;
  readonly bounds: Bounds;
  readonly outputs: OutputKind;
  readonly inputShape: number[] | null;
  numClasses: number | null;
  private readonly inputName: string;
  private readonly outputName: string;
  private readonly layout: 'nhwc' | 'nchw';
  private readonly fixedBatch: number | null;
  private resolvedOutputs: 'logits' | 'probabilities' | undefined;
  private checkedDeclaration = false;
  private tensorClass: OrtTensorConstructor | undefined;
  private readonly imported: ModelGraph | null = null;
  /** Why there are no gradients, when there are none. */
  private readonly noGradients: string | null = null;
  private network: Network | undefined;
  /** The onnxruntime executor, when src/engine/select.ts picks it for the imported graph. */
  private native: Promise<OrtNetwork | null> | undefined;
  private nativeChosen: OrtNetwork | null = null;

  constructor(
    private readonly session: OnnxSession,
    options: OnnxClassifierOptions,
  ) {
    this.inputName = pickName(options.inputName, session.inputNames, 'input');
    this.outputName = pickName(options.outputName, session.outputNames, 'output');
    this.layout = options.layout ?? 'nhwc';
    if (this.layout !== 'nhwc' && this.layout !== 'nchw') {
      throw new RobustestError('INVALID_OPTION', 'onnxClassifier(): unknown `layout`.', { expected: "'nhwc' | 'nchw'", received: show(options.layout) });
    }
    this.bounds = checkBounds(options.bounds ?? [0, 1]);
    this.outputs = options.outputs ?? 'auto';
    if (!['logits', 'probabilities', 'auto'].includes(this.outputs)) {
      throw new RobustestError('INVALID_OPTION', 'onnxClassifier(): unknown `outputs` option.', {
        expected: "'logits' | 'probabilities' | 'auto'",
        received: show(options.outputs),
      });
    }
    if (this.outputs !== 'auto') this.resolvedOutputs = this.outputs;
    this.name = options.name ?? `ONNX model (${this.inputName} → ${this.outputName})`;
    this.tensorClass = options.runtime?.Tensor;

    const inShape = tensorShape(session.inputMetadata, session.inputNames.indexOf(this.inputName));
    this.fixedBatch = inShape && typeof inShape[0] === 'number' ? inShape[0] : null;
    this.inputShape = inShape ? this.toNhwc(inShape.slice(1)) : null;
    const outShape = tensorShape(session.outputMetadata, session.outputNames.indexOf(this.outputName));
    this.numClasses = outShape && outShape.length === 2 && typeof outShape[1] === 'number' ? outShape[1] : null;

    if (options.model === undefined) {
      this.noGradients = 'ONNX Runtime computes no input gradients, and the model file was not given (onnxClassifier(session, { model: bytes }))';
    } else {
      if (!(options.model instanceof Uint8Array)) {
        throw new RobustestError('INVALID_OPTION', 'onnxClassifier(): `model` must be the bytes of the .onnx file.', {
          expected: "a Uint8Array, e.g. fs.readFileSync('model.onnx')",
          received: show(options.model),
        });
      }
      try {
        this.imported = importOnnx(options.model, { layout: this.layout, inputName: this.inputName, outputName: this.outputName });
      } catch (error) {
        if (!(error instanceof UnsupportedNode)) throw error;
        this.noGradients = `robustest cannot differentiate node ${error.source}: ${error.why}`;
      }
    }
  }

  get differentiable(): boolean {
    return this.imported !== null;
  }

  get engine(): 'tfjs' | 'onnxruntime' {
    return this.nativeChosen ? 'onnxruntime' : 'tfjs';
  }

  get gradientPath(): string {
    if (!this.imported) return `none: ${this.noGradients}`;
    return this.nativeChosen?.gradientPath ?? this.net().gradientPath;
  }

  graph(): ModelGraph | null {
    return this.imported;
  }

  private net(): Network {
    this.network ??= compileGraph(this.imported!);
    return this.network;
  }

  /** The per-sample shape robustest sees, from the model's (NCHW → NHWC); null unless fully known. */
  private toNhwc(dims: (number | string)[]): number[] | null {
    if (!dims.every((d) => typeof d === 'number' && d > 0)) return null;
    const n = dims as number[];
    return this.layout === 'nchw' && n.length === 3 ? [n[1]!, n[2]!, n[0]!] : n;
  }

  async logits(x: tf.Tensor): Promise<tf.Tensor2D> {
    await ensureBackend();
    const scores = await this.scores(x);
    if (!this.resolvedOutputs) {
      this.resolvedOutputs = looksLikeProbabilities(scores) ? 'probabilities' : 'logits';
    } else if (this.outputs === 'probabilities' && !this.checkedDeclaration) {
      this.checkedDeclaration = true;
      if (!looksLikeProbabilities(scores)) {
        const error = notProbabilities(this.name, scores, "outputs: 'logits' (or 'auto')");
        scores.dispose();
        throw error;
      }
    } else if (this.outputs === 'logits' && !this.checkedDeclaration) {
      this.checkedDeclaration = true;
      if (looksLikeProbabilities(scores)) {
        scores.dispose();
        throw new RobustestError('NOT_LOGITS', `${this.name} was declared to output logits, but every output row is in [0, 1] and sums to 1.`, {
          expected: "logits, or onnxClassifier(session, { outputs: 'probabilities' }) / { outputs: 'auto' }",
          received: 'probabilities',
        });
      }
    }
    if (this.resolvedOutputs === 'logits') return scores;
    const logProbabilities = tf.tidy(() => tf.log(tf.add(scores, 1e-30))) as tf.Tensor2D;
    scores.dispose();
    return logProbabilities;
  }

  async valueAndGradient(x: tf.Tensor, loss: LossFn): Promise<GradientResult> {
    const network = await this.gradientNetwork(x);
    try {
      return await network.valueAndGradient(x, loss);
    } catch (error) {
      throw this.failure(x, error);
    }
  }

  async activationBytes(x: tf.Tensor): Promise<number> {
    if (!this.imported) return peakBytesOf(() => undefined);
    await this.gradientNetwork(x);
    const network = this.tfjsView();
    return this.guard(x, () =>
      peakBytesOf(() => {
        const r = network.valueAndGradient(x, (z) => tf.sum(z, 1) as tf.Tensor1D);
        tf.dispose([r.logits, r.loss, r.gradient]);
      }),
    );
  }

  /**
   * The graph's network, seen through the log where the model outputs probabilities that the
   * graph does not end in a softmax for (log-probabilities order classes as logits do).
   */
  private async gradientNetwork(x: tf.Tensor): Promise<Network | OrtNetwork> {
    if (!this.imported) {
      throw new RobustestError(
        'NOT_DIFFERENTIABLE',
        `${this.name} has no input gradients: ${this.noGradients}. Use a query-based attack instead: square(), onePixel(), hopSkipJump(), boundary(), or a corruption attack.`,
        { expected: 'a differentiable classifier (tfjs model, function, or onnxClassifier(session, { model: bytes }))', received: 'onnx classifier without gradients' },
      );
    }
    await ensureBackend();
    if (!this.resolvedOutputs) (await this.logits(x)).dispose();
    const native = await this.onnxruntime(this.imported);
    if (native) return this.readsProbabilities(native) ? onLogProbabilitiesNative(native) : native;
    return this.tfjsView();
  }

  private onnxruntime(graph: ModelGraph): Promise<OrtNetwork | null> {
    this.native ??= onnxruntimeFor(graph).then((network) => (this.nativeChosen = network));
    return this.native;
  }

  async hostGradient(loss: LossFn): Promise<HostGradient | null> {
    if (!this.imported || !this.resolvedOutputs) return null;
    const native = await this.onnxruntime(this.imported);
    const gradient = native && !this.readsProbabilities(native) ? native.hostGradient(loss) : null;
    return gradient && checkedHostGradient(gradient, this.name, this.inputShape, (x, error) => this.failure(x, error));
  }

  /** The tfjs engine's network as this classifier reads its outputs. */
  private tfjsView(): Network {
    const network = this.net();
    return this.readsProbabilities(network) ? onLogProbabilities(network) : network;
  }

  private readsProbabilities(network: { peeledSoftmax: boolean }): boolean {
    return this.resolvedOutputs === 'probabilities' && !network.peeledSoftmax;
  }

  private guard<T>(x: tf.Tensor, body: () => T): T {
    try {
      return body();
    } catch (error) {
      throw this.failure(x, error);
    }
  }

  private failure(x: Pick<tf.Tensor, 'shape'>, error: unknown): Error {
    return modelFailure(error, {
      name: this.name,
      shape: x.shape,
      expected: this.inputShape ? `inputs ${shapeString([null, ...this.inputShape])} (NHWC)` : 'inputs the model accepts',
      runtime: this.nativeChosen ? 'the imported ONNX graph on the onnxruntime executor' : 'the imported ONNX graph on tfjs',
    });
  }

  private async scores(x: tf.Tensor): Promise<tf.Tensor2D> {
    if (this.layout === 'nchw' && x.rank !== 4) {
      throw new RobustestError('INVALID_SHAPE', `${this.name} expects images (layout 'nchw'), so inputs must be NHWC [N, H, W, C].`, {
        expected: '[N, height, width, channels]',
        received: shapeString(x.shape),
      });
    }
    const fed = tf.tidy(() => {
      const floats = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
      return this.layout === 'nchw' ? tf.transpose(floats, [0, 3, 1, 2]) : tf.clone(floats);
    });
    const data = (await fed.data()) as Float32Array;
    const dims = fed.shape;
    fed.dispose();
    const n = dims[0]!;
    const per = data.length / Math.max(n, 1);
    // Models exported with a fixed batch dimension are fed in slices of that size.
    const step = this.fixedBatch && this.fixedBatch > 0 ? this.fixedBatch : n;
    if (n % step !== 0) {
      throw new RobustestError('INVALID_SHAPE', `${this.name} has a fixed batch size of ${step}.`, {
        expected: `a multiple of ${step} samples per call`,
        received: `${n} samples`,
      });
    }
    const Tensor = await this.runtimeTensor();
    let classes = -1;
    let out = new Float32Array(0);
    for (let start = 0; start < n; start += step) {
      const feed = new Tensor('float32', data.subarray(start * per, (start + step) * per), [step, ...dims.slice(1)]);
      let result: Record<string, unknown>;
      try {
        result = await this.session.run({ [this.inputName]: feed }, [this.outputName]);
      } catch (error) {
        throw modelFailure(error, {
          name: this.name,
          shape: x.shape,
          expected: this.inputShape ? `inputs ${shapeString([null, ...this.inputShape])} (NHWC)` : 'inputs the model accepts',
          runtime: `ONNX Runtime, fed as ${shapeString([step, ...dims.slice(1)])} in layout '${this.layout}'`,
          hint: this.layoutHint(x),
        });
      }
      const value = result[this.outputName] as OrtTensorLike | undefined;
      if (!value) {
        throw new RobustestError('INVALID_OUTPUT', `${this.name} returned no output '${this.outputName}'.`, { expected: `[${step}, classes]`, received: 'no such output' });
      }
      checkScoreLayout(this.name, value.dims, value.type ?? 'float32', step);
      if (classes < 0) {
        classes = value.dims[1] as number;
        out = new Float32Array(n * classes);
      }
      out.set(Float32Array.from(value.data as ArrayLike<number>), start * classes);
    }
    this.numClasses ??= classes;
    const scores = tf.tensor2d(out, [n, classes]);
    try {
      checkFinite(this.name, scores);
    } catch (error) {
      scores.dispose();
      throw error;
    }
    return scores;
  }

  /** Images fed channels-last to a model whose declared input looks channels-first. */
  private layoutHint(x: tf.Tensor): string | undefined {
    if (this.layout !== 'nhwc' || x.rank !== 4) return undefined;
    const declared = tensorShape(this.session.inputMetadata, this.session.inputNames.indexOf(this.inputName));
    const channelsFirst = declared ? declared.length === 4 && (declared[1] === 1 || declared[1] === 3) && declared[3] !== declared[1] : x.shape[3] === 1 || x.shape[3] === 3;
    return channelsFirst ? "If the model takes [N, C, H, W] images (a PyTorch export), pass onnxClassifier(session, { layout: 'nchw' }); robustest's inputs stay NHWC." : undefined;
  }

  private async runtimeTensor(): Promise<OrtTensorConstructor> {
    if (this.tensorClass) return this.tensorClass;
    try {
      const ort = (await import(/* @vite-ignore */ 'onnxruntime-node')) as { Tensor?: OrtTensorConstructor; default?: { Tensor?: OrtTensorConstructor } };
      this.tensorClass = ort.Tensor ?? ort.default?.Tensor;
    } catch {
      // Reported below.
    }
    if (!this.tensorClass) {
      throw new RobustestError('INVALID_MODEL', 'onnxClassifier() could not load onnxruntime-node to build input tensors.', {
        expected: 'onnxruntime-node installed (npm i onnxruntime-node), or onnxClassifier(session, { runtime: ort })',
        received: 'no loadable onnxruntime-node',
      });
    }
    return this.tensorClass;
  }
}

function pickName(requested: string | undefined, names: readonly string[], what: 'input' | 'output'): string {
  if (requested !== undefined) {
    if (!names.includes(requested)) {
      throw new RobustestError('INVALID_OPTION', `onnxClassifier(): the model has no ${what} named ${show(requested)}.`, {
        expected: names.map((n) => show(n)).join(' | '),
        received: show(requested),
      });
    }
    return requested;
  }
  if (names.length === 0) {
    throw new RobustestError('INVALID_MODEL', `onnxClassifier(): the model declares no ${what}s.`, { expected: `at least one ${what}`, received: 'none' });
  }
  if (what === 'input' && names.length > 1) {
    throw new RobustestError('INVALID_OPTION', `onnxClassifier(): the model has ${names.length} inputs; name the one that takes the images.`, {
      expected: `inputName: ${names.map((n) => show(n)).join(' | ')}`,
      received: 'no inputName',
    });
  }
  return names[0]!;
}

function tensorShape(metadata: readonly ValueMetadataLike[] | undefined, index: number): (number | string)[] | null {
  const entry = index >= 0 ? metadata?.[index] : undefined;
  if (!entry || !entry.isTensor || !Array.isArray(entry.shape) || entry.shape.length === 0) return null;
  return [...entry.shape];
}

function checkBounds(bounds: unknown): Bounds {
  if (!Array.isArray(bounds) || bounds.length !== 2 || !bounds.every((b) => typeof b === 'number' && Number.isFinite(b)) || !(bounds[0] < bounds[1])) {
    throw new RobustestError('INVALID_OPTION', 'onnxClassifier(): `bounds` must be two finite numbers [low, high] with low < high.', {
      expected: '[low, high], e.g. [0, 1]',
      received: show(bounds),
    });
  }
  return [bounds[0], bounds[1]] as const;
}
