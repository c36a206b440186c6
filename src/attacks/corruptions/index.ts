export { gaussianNoise, uniformNoise } from './noise.js';
export { saltAndPepper, SALT_AND_PEPPER_DEFAULTS, type SaltAndPepperOptions } from './salt-and-pepper.js';
export { gaussianBlur } from './blur.js';
export { contrastReduction } from './contrast.js';
export { CORRUPTION_DEFAULTS, type CorruptionOptions } from './search.js';
