/**
 * Every error robustest raises on bad input is a RobustestError with a stable `code`,
 * and says what was expected and what was received.
 */
export type RobustestErrorCode =
  | 'INVALID_SHAPE'
  | 'OUT_OF_BOUNDS'
  | 'NOT_FINITE'
  | 'INVALID_LABELS'
  | 'INVALID_EPSILON'
  | 'INVALID_OPTION'
  | 'INVALID_MODEL'
  | 'NOT_LOGITS'
  | 'NOT_DIFFERENTIABLE'
  | 'MODEL_FAILED'
  | 'BACKEND_UNAVAILABLE'
  | 'ABORTED'
  | 'NOT_AWAITED'
  | 'INVALID_OUTPUT'
  | 'UNSUPPORTED_LAYER';

export class RobustestError extends Error {
  readonly code: RobustestErrorCode;
  readonly expected: string | undefined;
  readonly received: string | undefined;
  /** For MODEL_FAILED: what made the model fail, so callers can react (a smaller batch for memory). */
  readonly failure: ModelFailure | undefined;

  constructor(code: RobustestErrorCode, message: string, details: { expected?: string; received?: string; failure?: ModelFailure } = {}) {
    const parts = [message];
    if (details.expected !== undefined) parts.push(`  Expected: ${details.expected}`);
    if (details.received !== undefined) parts.push(`  Received: ${details.received}`);
    super(parts.join('\n'));
    this.name = 'RobustestError';
    this.code = code;
    this.expected = details.expected;
    this.received = details.received;
    this.failure = details.failure;
  }
}

export type ModelFailure = 'out-of-memory' | 'missing-kernel' | 'shape' | 'other';

/** Short, readable rendering of a value for error messages. */
export function show(value: unknown): string {
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) {
    const head = value.slice(0, 6).map(show).join(', ');
    return `[${head}${value.length > 6 ? `, … (${value.length} items)` : ''}]`;
  }
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return String(value);
}

export function shapeString(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null || d < 0 ? '?' : d)).join(', ')}]`;
}
