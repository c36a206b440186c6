/**
 * `robustest/reporter`: a Vitest reporter that prints, at the end of the run, one table row per
 * robustness assertion — verdict, ε, clean accuracy, the measured number, requirement, test —
 * read from the records `robustest/vitest` leaves on each test (`task.meta.robustest`). With
 * `outputFile` it also writes the HTML report of the run, one section per assertion. Use it next
 * to a normal reporter: `reporters: ['default', ['robustest/reporter', { outputFile: 'robustness.html' }]]`.
 * Records travel in Vitest's blob reports, so `vitest --merge-reports` of sharded runs gives one
 * table and one report over every shard.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { formatRobustnessTable, type AssertionRecord } from '../src/report/table.js';
import { runDocument } from '../src/report/html/from-records.js';
import { renderReport } from '../src/report/html/render.js';

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

export interface RobustnessReporterOptions {
  /** Where to write the HTML report of the run (relative to the project root). */
  outputFile?: string;
}

export class RobustnessReporter {
  private vitest: VitestLike | undefined;

  constructor(private readonly options: RobustnessReporterOptions = {}) {}

  onInit(vitest: VitestLike): void {
    this.vitest = vitest;
  }

  async onTestRunEnd(testModules: ReadonlyArray<TestModuleLike>): Promise<void> {
    const root = this.vitest?.config?.root ?? process.cwd();
    const records = collectRecords(testModules, root);
    if (records.length === 0) return;
    const lines = [`\n${formatRobustnessTable(records)}\n`];
    if (this.options.outputFile) {
      const path = resolve(root, this.options.outputFile);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, await renderReport(runDocument(records)));
      lines.push(`robustest: HTML report written to ${path}\n`);
    }
    const text = lines.join('\n');
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
