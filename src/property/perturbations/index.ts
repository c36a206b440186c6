/**
 * Perturbation arbitraries: plain fast-check arbitraries whose values are Perturbations. Each
 * draws a magnitude up to the given budget (and a seed for its random pattern) and shrinks toward
 * the identity, so a failing property reports the weakest perturbation found that still fails.
 */
export { linf } from './linf.js';
export { l2 } from './l2.js';
export { pixels } from './pixels.js';
export { gaussianNoise } from './gaussian-noise.js';
export { saltAndPepper } from './salt-and-pepper.js';
export { brightness } from './brightness.js';
export { contrast } from './contrast.js';
export { rotation } from './rotation.js';
export { translation } from './translation.js';
export { blur } from './blur.js';
export { compose } from './compose.js';
