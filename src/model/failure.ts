/**
 * Turns an error thrown inside a model run into a MODEL_FAILED error that names the real cause:
 * the backend ran out of memory (with a batch size to try), the backend lacks a kernel the model
 * needs (with the fix), or the model rejected the input (with the shapes).
 */
import { RobustestError, shapeString, type ModelFailure } from '../errors.js';
import { backendCrashed, currentBackend } from '../backend.js';

const OUT_OF_MEMORY = /out of memory|memory access out of bounds|Aborted\(|Cannot enlarge memory|Array buffer allocation failed|allocation failed|bad_alloc|failed to allocate|RangeError: Invalid typed array length/i;
const MISSING_KERNEL = /Kernel '([^']+)' not registered for backend '([^']+)'/;
/** Traps that leave a wasm instance unusable. */
const WASM_TRAP = /memory access out of bounds|Aborted\(|divide by zero|unreachable|integer overflow|index out of bounds/i;

export interface FailedRun {
  /** The model's name, for the message. */
  name: string;
  /** The batch it was given, as the user sees it (NHWC). */
  shape: readonly number[];
  /** What the model accepts, for shape errors. */
  expected: string;
  /** Where it ran ('tfjs wasm', 'ONNX Runtime'). */
  runtime?: string;
  /** A hint for shape errors (a layout to pass). */
  hint?: string;
}

export function modelFailure(error: unknown, run: FailedRun): RobustestError {
  if (error instanceof RobustestError) return error;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const reason = text.split('\n')[0]!;
  const rows = run.shape[0] ?? 1;
  const isTrap = error instanceof Error && error.name === 'RuntimeError' && WASM_TRAP.test(error.message);
  if (isTrap && currentBackend() === 'wasm') backendCrashed();
  const kind: ModelFailure = OUT_OF_MEMORY.test(text) || isTrap ? 'out-of-memory' : MISSING_KERNEL.test(text) ? 'missing-kernel' : 'shape';
  if (kind === 'out-of-memory') {
    return new RobustestError(
      'MODEL_FAILED',
      `${run.name} ran out of memory on a batch of ${rows} input${rows === 1 ? '' : 's'} of shape ${shapeString(run.shape)}${run.runtime ? ` (${run.runtime})` : ''}. Pass a smaller batch, for example batchSize: ${Math.max(1, Math.floor(rows / 4))}.`,
      { expected: 'a batch that fits in memory', received: reason, failure: kind },
    );
  }
  if (kind === 'missing-kernel') {
    const [, kernel, backend] = MISSING_KERNEL.exec(text)!;
    return new RobustestError(
      'MODEL_FAILED',
      `${run.name} needs the tfjs kernel '${kernel}', which the ${backend} backend does not have. Run on a backend that has it (ROBUSTEST_BACKEND=cpu, or install @tensorflow/tfjs-node), or pass the LayersModel itself rather than a function around it, so that robustest's own gradient engine runs it.`,
      { expected: `a kernel '${kernel}' on the ${backend} backend`, received: reason, failure: kind },
    );
  }
  return new RobustestError('MODEL_FAILED', `${run.name} failed on a batch of inputs of shape ${shapeString(run.shape)}${run.runtime ? ` (${run.runtime})` : ''}.${run.hint ? ` ${run.hint}` : ''}`, {
    expected: run.expected,
    received: reason,
    failure: kind,
  });
}

/** True for a failure that a smaller batch may avoid. */
export function outOfMemory(error: unknown): boolean {
  return error instanceof RobustestError && error.failure === 'out-of-memory';
}
