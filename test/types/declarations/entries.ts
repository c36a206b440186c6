// Every entry point of the package in one program, checked with skipLibCheck off: robustest's
// declaration files must compile next to Vitest's, Jest's and tfjs's.
import 'robustest/vitest';
import 'robustest/jest';
import 'robustest/jest-globals';
import * as robustest from 'robustest';
import * as matchers from 'robustest/matchers';
import Reporter, { RobustnessReporter } from 'robustest/reporter';
import type { Reporter as VitestReporter } from 'vitest/node';

export const entries = [robustest.evaluate, robustest.robustnessSerializer, matchers.robustestMatchers, matchers.configureRobustest, Reporter, RobustnessReporter];

// The reporter is a Vitest reporter as far as the type checker is concerned.
export const reporter: VitestReporter = new RobustnessReporter();
