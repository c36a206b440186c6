/**
 * `robustest/reporter`: a Vitest reporter that prints, at the end of the run, one table row per
 * robustness assertion — model, attack, ε, clean and robust accuracy, requirement, verdict — read
 * from the records `robustest/vitest` leaves on each test (`task.meta.robustest`). Use it next to
 * a normal reporter: `reporters: ['default', 'robustest/reporter']`.
 */
import { relative, sep } from 'node:path';
import { formatRobustnessTable, type AssertionRecord } from '../src/report/table.js';

interface TestCaseLike {
  meta(): object;
}
interface TestModuleLike {
  moduleId?: string;
  children: { allTests(): Iterable<TestCaseLike> };
}
interface VitestLike {
  logger?: { log(...args: unknown[]): void };
  config?: { root?: string };
}

export class RobustnessReporter {
  private vitest: VitestLike | undefined;

  onInit(vitest: VitestLike): void {
    this.vitest = vitest;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModuleLike>): void {
    const records = collectRecords(testModules, this.vitest?.config?.root ?? process.cwd());
    if (records.length === 0) return;
    const text = `\n${formatRobustnessTable(records)}\n`;
    if (this.vitest?.logger) this.vitest.logger.log(text);
    else process.stdout.write(`${text}\n`);
  }
}

/** Every robustness record of the run, in module and test order, named `file › test`. */
export function collectRecords(testModules: ReadonlyArray<TestModuleLike>, root: string): AssertionRecord[] {
  const records: AssertionRecord[] = [];
  for (const module of testModules) {
    for (const test of module.children.allTests()) {
      const list = (test.meta() as { robustest?: unknown }).robustest;
      if (!Array.isArray(list)) continue;
      for (const record of list as AssertionRecord[]) {
        const file = record.file ?? module.moduleId ?? null;
        records.push({ ...record, test: file ? `${relative(root, file).split(sep).join('/')} › ${record.test}` : record.test });
      }
    }
  }
  return records;
}

export default RobustnessReporter;
