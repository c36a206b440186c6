export { classifier, isClassifier } from './model/classifier.js';
export type { Classifier, ClassifierOptions, ModelLike, OutputKind, Bounds } from './model/classifier.js';
// The model graph every format is read into (clf.graph()), and its importers.
export type { ModelGraph, Node as GraphNode, Op as GraphOp, OpKind, Activation, Weight, Padding } from './graph/types.js';
export { importLayersModel } from './graph/tfjs-layers/import.js';
export { importGraphModel } from './graph/tfjs-graph/index.js';
export { importOnnx } from './graph/onnx/index.js';
export { evaluate } from './evaluate.js';
// Every attack factory, stamped so that evaluate can rebuild it in a worker thread.
export {
  fgsm,
  pgd,
  mifgsm,
  apgd,
  deepfool,
  carliniWagner,
  lbfgs,
  square,
  onePixel,
  hopSkipJump,
  boundary,
  gaussianNoise,
  uniformNoise,
  saltAndPepper,
  gaussianBlur,
  contrastReduction,
  spatial,
  fab,
  autoAttack,
} from './attacks/registry.js';
export type { EvaluateOptions, RobustnessReport, SampleOutcome } from './evaluate.js';
export type { FgsmOptions } from './attacks/fgsm.js';
export type { Attack, AttackRecipe, AttackRun, AttackRunOptions, CriterionSpec, TargetSpec } from './attacks/types.js';
export type { Samples } from './samples.js';
export type { Norm } from './norms.js';
export { RobustestError } from './errors.js';
export type { RobustestErrorCode } from './errors.js';
export { ensureBackend } from './backend.js';
export { Rng } from './engine/random.js';
// property-based perturbations
export * as perturbations from './property/perturbations/index.js';
export * as transforms from './property/transforms.js';
export { isPerturbation } from './property/perturbations/types.js';
export type { Perturbation, PerturbationKind, Fill } from './property/perturbations/types.js';
export { fuzz } from './property/fuzz.js';
export type { FuzzReport, Counterexample as FuzzCounterexample } from './property/fuzz.js';
export { checkInvariance } from './property/invariance.js';
export type { InvarianceReport } from './property/invariance.js';
export type { FuzzOptions, InvarianceOptions, FuzzInputs, ModelInput } from './property/options.js';
export type { Change as PerturbationChange } from './property/change.js';
// black-box attacks and ONNX
export type { SquareOptions } from './attacks/square.js';
export type { OnePixelOptions } from './attacks/one-pixel.js';
export type { HopSkipJumpOptions } from './attacks/hop-skip-jump.js';
export type { BoundaryOptions } from './attacks/boundary.js';
export type { CorruptionOptions, SaltAndPepperOptions } from './attacks/corruptions/index.js';
export { SALT_AND_PEPPER_DEFAULTS } from './attacks/corruptions/index.js';
export type { SpatialOptions } from './attacks/spatial.js';
export { onnxClassifier } from './model/onnx.js';
export type { OnnxClassifierOptions, OnnxSession } from './model/onnx.js';
// the onnxruntime executor
export { onnxruntimeNetwork, tryOnnxruntimeNetwork } from './engine/onnxruntime/index.js';
export type { OrtNetwork, OnnxruntimeOptions, OnnxruntimeAttempt, StridedGradient } from './engine/onnxruntime/index.js';
export { onnxruntimeClassifier } from './engine/onnxruntime/classifier.js';
// white-box attacks
export { PGD_DEFAULTS } from './attacks/pgd.js';
export type { PgdOptions } from './attacks/pgd.js';
export { MIFGSM_DEFAULTS } from './attacks/mifgsm.js';
export type { MifgsmOptions } from './attacks/mifgsm.js';
export { APGD_DEFAULTS } from './attacks/apgd.js';
export type { ApgdOptions } from './attacks/apgd.js';
export { DEEPFOOL_DEFAULTS } from './attacks/deepfool.js';
export type { DeepFoolOptions } from './attacks/deepfool.js';
export { CARLINI_WAGNER_DEFAULTS } from './attacks/carlini-wagner.js';
export type { CarliniWagnerOptions } from './attacks/carlini-wagner.js';
export { LBFGS_DEFAULTS } from './attacks/lbfgs.js';
export type { LbfgsOptions } from './attacks/lbfgs.js';
export type { LossName } from './attacks/losses.js';
export { FAB_DEFAULTS } from './attacks/fab.js';
export type { FabOptions } from './attacks/fab.js';
export { AUTO_ATTACK_DEFAULTS, AUTO_ATTACK_VERSIONS } from './attacks/auto-attack.js';
export type { AutoAttackOptions, AutoAttackRun, AutoAttackVersion, MemberReport } from './attacks/auto-attack.js';
export type { MemberName } from './attacks/auto-attack-members.js';
export type { ReliabilityFlag, ReliabilityKind } from './attacks/reliability.js';
// reports: snapshot serializer
export { robustnessSerializer, stableReport, isRobustnessReport } from './report/serializer.js';
// certificates
export { certify, verify, isCertificationReport, smoothed, certifySmoothed, isSmoothed, ABSTAIN, ibpMargins } from './certify/index.js';
export type { CertifyOptions, CertificationReport, CertifiedSample, CertifyMethod, BoundMethod, CertifyNorm, Verdict, VerifyOptions, VerifiedSample, VerificationReport, SmoothedClassifier, SmoothedPredictOptions, CertifySmoothedOptions, SmoothedSample, SmoothingReport } from './certify/index.js';
// defences: adversarial training and feature squeezing
export { adversarialTraining, TRAINING_DEFAULTS, featureSqueezing, isDetector, squeezers, FEATURE_SQUEEZING_DEFAULTS } from './defend/index.js';
export type { AdversarialTrainingOptions, TrainingMethod, OptimizerName, TrainingHistory, EpochRecord, ValidationRecord, FeatureSqueezingOptions, FeatureSqueezingDetector, Detection, Squeezer, Calibration } from './defend/index.js';
