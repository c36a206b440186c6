import { fgsm, type RobustnessReport, type Samples } from 'robustest';

declare const model: (x: import('@tensorflow/tfjs-core').Tensor) => import('@tensorflow/tfjs-core').Tensor;
declare const on: Samples;
declare const report: RobustnessReport;

export const checks: Promise<void>[] = [expect(model).toBeRobustAgainst(fgsm(), 0.1, { on, atLeast: 0.9 }), expect(report).toMatchRobustnessSnapshot()];
export const sync: void = expect(report).toHaveRobustAccuracy({ atLeast: 0.9, at: 0.1 });

// @ts-expect-error ε is a number
void expect(model).toBeRobustAgainst(fgsm(), '0.1', { on });
