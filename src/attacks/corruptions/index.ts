export { gaussianNoise, uniformNoise, saltAndPepper } from './noise.js';
export { gaussianBlur } from './blur.js';
export { contrastReduction } from './contrast.js';
export { CORRUPTION_DEFAULTS, type CorruptionOptions } from './search.js';
