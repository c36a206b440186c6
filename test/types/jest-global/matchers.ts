import { expectTypeOf } from 'expect-type';
import { fgsm, type RobustnessReport, type Samples } from 'robustest';
import { configureRobustest } from 'robustest/matchers';

declare const model: (x: import('@tensorflow/tfjs-core').Tensor) => import('@tensorflow/tfjs-core').Tensor;
declare const on: Samples;
declare const report: RobustnessReport;

expectTypeOf(expect(model).toBeRobustAgainst(fgsm(), 0.1, { on, atLeast: 0.9 })).toEqualTypeOf<Promise<void>>();
expectTypeOf(expect(model).not.toBeRobustAgainst(fgsm(), 0.1, { on })).toEqualTypeOf<Promise<void>>();
expectTypeOf(expect(report).toMatchRobustnessSnapshot({ tolerance: 0.01 })).toEqualTypeOf<Promise<void>>();
expectTypeOf(expect(report).toHaveRobustAccuracy({ atLeast: 0.9, at: 0.1 })).toEqualTypeOf<void>();
expectTypeOf(expect(Promise.resolve(report)).resolves.toBeRobust({ at: 0.1 })).toEqualTypeOf<Promise<void>>();
expectTypeOf(configureRobustest({ seed: 3 }).seed).toEqualTypeOf<number>();

// @ts-expect-error ε is a number
void expect(model).toBeRobustAgainst(fgsm(), '0.1', { on });
// @ts-expect-error the samples (`on`) are required
void expect(model).toBeRobustAgainst(fgsm(), 0.1, {});
