/**
 * Logits and the input gradient of a loss for a batch held in host memory, the gradient written
 * into an array of the caller's: what an executor that runs outside tfjs offers an attack loop
 * that keeps its iterates on the host (src/attacks/host-iteration.ts). An iterate then never
 * becomes a tfjs tensor between steps, which on a small model is most of a step's time.
 */
/**
 * For the rows of `x` (row-major [rows, ...inputShape]): d(Σ loss)/dx written into `gradient`
 * (same length as x) and the logits into `logits` ([rows, classes]).
 */
export type HostGradient = (x: Float32Array, rows: number, gradient: Float32Array, logits: Float32Array) => Promise<void>;
