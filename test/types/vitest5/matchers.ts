import { expect, expectTypeOf } from 'vitest';
import { fgsm, type Classifier, type RobustnessReport, type Samples } from 'robustest';
import { configureRobustest } from 'robustest/matchers';

declare const model: Classifier;
declare const on: Samples;
declare const report: RobustnessReport;

expectTypeOf(expect(model).toBeRobustAgainst(fgsm(), 0.1, { on, atLeast: 0.9 })).toEqualTypeOf<Promise<void>>();
expectTypeOf(expect(model).not.toBeRobustAgainst(fgsm(), 0.1, { on })).toEqualTypeOf<Promise<void>>();
expectTypeOf(expect(report).toMatchRobustnessSnapshot()).toEqualTypeOf<Promise<void>>();
// Synchronous matchers return R: void on expect(), Promise<void> under .resolves.
expectTypeOf(expect(report).toHaveRobustAccuracy({ atLeast: 0.9, at: 0.1 })).toEqualTypeOf<void>();
expectTypeOf(expect(Promise.resolve(report)).resolves.toHaveRobustAccuracy({ atLeast: 0.9, at: 0.1 })).toEqualTypeOf<Promise<void>>();
expectTypeOf(expect(report).not.toBeRobust()).toEqualTypeOf<void>();
expectTypeOf(expect.soft(report).toBeRobust()).toEqualTypeOf<void>();
expectTypeOf(configureRobustest({ seed: 3 }).seed).toEqualTypeOf<number>();

// @ts-expect-error ε is a number
void expect(model).toBeRobustAgainst(fgsm(), '0.1', { on });
// @ts-expect-error the samples (`on`) are required
void expect(model).toBeRobustAgainst(fgsm(), 0.1, { atLeast: 0.9 });
// @ts-expect-error an attack is a value: call the factory
void expect(model).toBeRobustAgainst(fgsm, 0.1, { on });
// @ts-expect-error atLeast is required
expect(report).toHaveRobustAccuracy({ at: 0.1 });
