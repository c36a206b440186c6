/** Defences: adversarial training, and detection of manipulated inputs by feature squeezing. */
import { bitDepth, median } from './squeezing/squeezers.js';

export { adversarialTraining } from './adversarial-training.js';
export { TRAINING_DEFAULTS } from './training/options.js';
export type { AdversarialTrainingOptions, TrainingMethod, OptimizerName } from './training/options.js';
export type { TrainingHistory, EpochRecord, ValidationRecord } from './training/history.js';
export { featureSqueezing, isDetector, FEATURE_SQUEEZING_DEFAULTS } from './squeezing/detector.js';
export type { FeatureSqueezingOptions, FeatureSqueezingDetector, Detection } from './squeezing/detector.js';
export type { Squeezer } from './squeezing/squeezers.js';
export type { Calibration } from './squeezing/calibration.js';
export { attackDetector, ADAPTIVE_DEFAULTS } from './squeezing/adaptive.js';
export type { AdaptiveOptions, AdaptiveRun } from './squeezing/adaptive.js';

/** The squeezers of Xu et al. 2018: `squeezers.bitDepth(1)`, `squeezers.median(2)`. */
export const squeezers = Object.freeze({ bitDepth, median });
export { measureDetection } from './squeezing/detection-report.js';
export type { DetectionReport, DetectionRate, DetectionOptions } from './squeezing/detection-report.js';
export { fixPathLines, attackCall } from './fix-path.js';
