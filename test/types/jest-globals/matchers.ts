import { expect } from '@jest/globals';
import { expectTypeOf } from 'expect-type';
import { fgsm, type Classifier, type RobustnessReport, type Samples } from 'robustest';

declare const model: Classifier;
declare const on: Samples;
declare const report: RobustnessReport;

expectTypeOf(expect(model).toBeRobustAgainst(fgsm(), 0.1, { on, atLeast: 0.9 })).toEqualTypeOf<Promise<void>>();
expectTypeOf(expect(model).not.toBeRobustAgainst(fgsm(), 0.1, { on })).toEqualTypeOf<Promise<void>>();
expectTypeOf(expect(report).toMatchRobustnessSnapshot()).toEqualTypeOf<Promise<void>>();
expectTypeOf(expect(report).toHaveRobustAccuracy({ atLeast: 0.9, at: 0.1 })).toEqualTypeOf<void>();
expectTypeOf(expect(Promise.resolve(report)).resolves.toHaveRobustAccuracy({ atLeast: 0.9, at: 0.1 })).toEqualTypeOf<Promise<void>>();
expectTypeOf(expect(report).not.toBeRobust({ at: 0.1 })).toEqualTypeOf<void>();

// @ts-expect-error ε is a number
void expect(model).toBeRobustAgainst(fgsm(), '0.1', { on });
// @ts-expect-error atLeast is required
expect(report).toHaveRobustAccuracy({ at: 0.1 });
