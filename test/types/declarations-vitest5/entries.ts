// Every entry point with Vitest 5 installed, checked with skipLibCheck off: robustest/vitest5's
// augmentation must repeat Vitest 5's type parameters exactly.
import 'robustest/vitest5';
import 'robustest/vitest';
import 'robustest/jest-globals';
import * as robustest from 'robustest';
import * as matchers from 'robustest/matchers';
import Reporter, { RobustnessReporter } from 'robustest/reporter';
import type { Reporter as VitestReporter } from 'vitest/node';

export const entries = [robustest.evaluate, robustest.robustnessSerializer, matchers.robustestMatchers, matchers.configureRobustest, Reporter, RobustnessReporter];

export const reporter: VitestReporter = new RobustnessReporter();
