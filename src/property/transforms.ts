/**
 * Fixed perturbation values: deterministic transforms for invariance tests (CheckList's INV), or
 * a single case to replay. Each is the value the matching arbitrary in `perturbations` produces
 * for those parameters.
 */
export { translationBy as translate } from './perturbations/translation.js';
export { rotationBy as rotate } from './perturbations/rotation.js';
export { brightnessBy as brightness } from './perturbations/brightness.js';
export { contrastBy as contrast } from './perturbations/contrast.js';
export { blurBy as blur } from './perturbations/blur.js';
export { linfNoise as linf } from './perturbations/linf.js';
export { l2Noise as l2 } from './perturbations/l2.js';
export { pixelsOf as pixels } from './perturbations/pixels.js';
export { gaussianNoiseOf as gaussianNoise } from './perturbations/gaussian-noise.js';
export { saltAndPepperOf as saltAndPepper } from './perturbations/salt-and-pepper.js';
export { composeValues as compose } from './perturbations/compose.js';
