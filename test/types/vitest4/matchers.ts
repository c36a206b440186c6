import { expect, expectTypeOf } from 'vitest';
import { fgsm, type Classifier, type RobustnessReport, type Samples } from 'robustest';
import { configureRobustest } from 'robustest/matchers';

declare const model: Classifier;
declare const on: Samples;
declare const report: RobustnessReport;

// The async matchers return promises, so a missing `await` is a floating promise to the type checker.
expectTypeOf(expect(model).toBeRobustAgainst(fgsm(), 0.1, { on, atLeast: 0.9, seed: 7, batchSize: 32 })).toEqualTypeOf<Promise<void>>();
expectTypeOf(expect(model).not.toBeRobustAgainst(fgsm({ norm: 'l2' }), 0.5, { on })).toEqualTypeOf<Promise<void>>();
expectTypeOf(expect(model).toBeRobustAgainst(fgsm(), { on })).toEqualTypeOf<Promise<void>>();
expectTypeOf(expect(report).toMatchRobustnessSnapshot({ tolerance: 0.02 })).toEqualTypeOf<Promise<void>>();
expectTypeOf(expect(report).toMatchRobustnessSnapshot()).toEqualTypeOf<Promise<void>>();
// The report matchers are synchronous.
expectTypeOf(expect(report).toHaveRobustAccuracy({ atLeast: 0.9, at: 0.1 })).toEqualTypeOf<void>();
expectTypeOf(expect(report).not.toBeRobust({ at: 0.1 })).toEqualTypeOf<void>();
expectTypeOf(expect.soft(report).toBeRobust()).toEqualTypeOf<void>();
expectTypeOf(configureRobustest({ seed: 3, atLeast: 0.9, pictureDir: 'robustness-pictures', batchSize: 64 }).seed).toEqualTypeOf<number>();

// @ts-expect-error ε is a number
void expect(model).toBeRobustAgainst(fgsm(), '0.1', { on });
// @ts-expect-error the samples (`on`) are required
void expect(model).toBeRobustAgainst(fgsm(), 0.1, { atLeast: 0.9 });
// @ts-expect-error an attack is a value: call the factory
void expect(model).toBeRobustAgainst(fgsm, 0.1, { on });
// @ts-expect-error atLeast is required
expect(report).toHaveRobustAccuracy({ at: 0.1 });
// @ts-expect-error tolerance is a number
void expect(report).toMatchRobustnessSnapshot({ tolerance: '2%' });
// @ts-expect-error configureRobustest knows its keys
configureRobustest({ pictureDirectory: 'x' });
