/** Image geometry checks and pixel indexing shared by blur and spatial transforms. */
import { RobustestError, shapeString } from '../../errors.js';

export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

/** [H, W, C] or [H, W] samples; anything else has no spatial layout to blur or rotate. */
export function imageShape(shape: readonly number[], attack: string): ImageShape {
  if (shape.length === 3) return { height: shape[0]!, width: shape[1]!, channels: shape[2]! };
  if (shape.length === 2) return { height: shape[0]!, width: shape[1]!, channels: 1 };
  throw new RobustestError('INVALID_SHAPE', `${attack} transforms images, and these inputs have no height and width.`, {
    expected: 'inputs [N, height, width, channels] (NHWC) or [N, height, width]',
    received: shapeString([null, ...shape]),
  });
}

/** scipy.ndimage's 'reflect' boundary (d c b a | a b c d | d c b a) for any offset. */
export function reflect(i: number, n: number): number {
  const period = 2 * n;
  const m = ((i % period) + period) % period;
  return m < n ? m : period - 1 - m;
}
