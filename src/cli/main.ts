/**
 * The `robustest` command. `robustest bench <model> --data <path>` attacks a model from the shell
 * and prints its robust-accuracy table; `--json`, `--html` and `--junit` keep the results, and
 * `--fail-under` turns the run into a CI gate (exit code 1). Arguments are parsed by commander.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { RobustestError } from '../errors.js';
import { renderReport } from '../report/html/render.js';
import { robustestVersion } from '../report/html/environment.js';
import type { Norm } from '../norms.js';
import { CLI_ATTACKS } from './attacks.js';
import { runBench } from './bench.js';
import { benchDocument } from './bench-report.js';
import { benchTable } from './bench-table.js';
import { junitXml } from './junit.js';
import { progress as makeProgress } from './progress.js';
import { runCertify } from './certify.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Live progress bar; default: when stderr is a terminal and not under CI. */
  live?: boolean;
}

const defaultIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** Exit codes: 0 done (and above --fail-under), 1 below --fail-under, 2 bad usage or input. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let code = 0;
  const program = new Command()
    .name('robustest')
    .description('Adversarial robustness benchmarks for TensorFlow.js and ONNX classifiers.')
    .version(robustestVersion())
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  const common = (command: Command): Command =>
    command
      .argument('<model>', 'a tfjs model.json (layers or graph) or an .onnx file')
      .requiredOption('--data <path>', "'mnist', a folder with one sub-folder of images per class, a .npz, or a .npy with --labels")
      .option('--labels <path>', 'labels .npy for a .npy inputs file')
      .option('--eps <list>', 'budgets, comma-separated; fractions allowed (default: 8/255 for linf, 0.5 for l2, 1 for l1 and l0)', parseEpsilons)
      .addOption(new Option('--norm <norm>', 'perturbation norm').choices(['linf', 'l2', 'l1', 'l0']).default('linf'))
      .option('--n <count>', 'attack the first n inputs', parseCount, 100)
      .option('--seed <seed>', 'seed of every random choice', parseSeed, 0)
      .option('--bounds <low,high>', 'valid input range', parseBounds, [0, 1] as [number, number])
      .option('--size <HxW>', "resize images to H×W (default: the model's input size)", parseSize)
      .addOption(new Option('--channels <c>', "channels of decoded images (default: the model's)").choices(['1', '3']).argParser((v) => Number(v) as 1 | 3))
      .option('--scale <divisor>', 'image bytes are divided by this', parseNumber('--scale'), 255)
      .addOption(new Option('--layout <layout>', 'input layout of an ONNX model and of .npy inputs').choices(['nhwc', 'nchw']).default('nhwc'))
      .addOption(new Option('--outputs <kind>', 'what the model outputs').choices(['logits', 'probabilities', 'auto']).default('auto'))
      .option('--json <file>', 'write the results as JSON')
      .option('--html <file>', 'write a self-contained HTML report')
      .option('--junit <file>', 'write JUnit XML, one test case per attack and ε')
      .option('--fail-under <accuracy>', 'exit 1 when worst-case robust accuracy at some ε is below this', parseAccuracy)
      .option('--no-progress', 'no progress output');

  common(program.command('bench').description('run attacks and print robust accuracy per ε'))
    .option('--attacks <list>', `comma-separated: ${Object.keys(CLI_ATTACKS).join(', ')}`, 'pgd')
    .action(async (model: string, o: Record<string, unknown>) => {
      const norm = o.norm as Norm;
      const progress = o.progress === false ? silent : makeProgress({ live: io.live, write: (line) => io.err(`${line}\n`) });
      const outcome = await runBench(
        {
          ...shared(model, o, argv),
          attacks: o.attacks as string,
          epsilons: (o.eps as number[] | undefined) ?? [defaultEpsilon(norm)],
          norm,
        },
        progress,
      );
      io.out(`\n${benchTable(outcome.result)}\n`);
      await writeOutputs(o, io, {
        json: () => `${JSON.stringify(outcome.result, null, 2)}\n`,
        html: () => renderReport(benchDocument(outcome)),
        junit: () => junitXml(outcome.result),
      });
      code = outcome.result.passed ? 0 : 1;
    });

  common(program.command('certify').description('sound lower bounds on robust accuracy (IBP, CROWN, α-CROWN), bracketed by an attack'))
    .addOption(new Option('--method <method>', 'bound method').choices(['auto', 'ibp', 'crown', 'alpha-crown']).default('auto'))
    .option('--attack <name>', 'attack giving the upper end of the bracket', 'pgd')
    .action(async (model: string, o: Record<string, unknown>) => {
      const norm = o.norm as Norm;
      const progress = o.progress === false ? silent : makeProgress({ live: io.live, write: (line) => io.err(`${line}\n`) });
      const outcome = await runCertify(
        { ...shared(model, o, argv), attack: o.attack as string, method: o.method as never, epsilons: (o.eps as number[] | undefined) ?? [defaultEpsilon(norm)], norm },
        progress,
      );
      io.out(`\n${outcome.table}\n`);
      await writeOutputs(o, io, { json: () => `${JSON.stringify(outcome.result, null, 2)}\n`, html: () => renderReport(outcome.document), junit: null });
      code = outcome.result.passed ? 0 : 1;
    });

  try {
    await program.parseAsync(['node', 'robustest', ...argv]);
    return code;
  } catch (error) {
    const e = error as { code?: string; exitCode?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // Help and version exit 0; usage errors were already printed by commander.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof RobustestError) {
      io.err(`robustest: ${error.message}\n`);
      return 2;
    }
    io.err(`robustest: ${(error as Error)?.stack ?? String(error)}\n`);
    return 2;
  }
}

const silent = { start() {}, update() {}, stop() {} };

/** RobustBench's budgets for images in [0, 1]. */
function defaultEpsilon(norm: Norm): number {
  return norm === 'linf' ? 8 / 255 : norm === 'l2' ? 0.5 : 1;
}

function shared(model: string, o: Record<string, unknown>, argv: readonly string[]) {
  return {
    model,
    data: o.data as string,
    labels: o.labels as string | undefined,
    n: o.n as number,
    seed: o.seed as number,
    bounds: o.bounds as [number, number],
    size: (o.size as [number, number] | undefined) ?? null,
    channels: o.channels as 1 | 3 | undefined,
    scale: o.scale as number,
    layout: o.layout as 'nhwc' | 'nchw',
    outputs: o.outputs as 'logits' | 'probabilities' | 'auto',
    failUnder: (o.failUnder as number | undefined) ?? null,
    command: ['robustest', ...argv].map((a) => (/^[\w./:=,-]+$/.test(a) ? a : JSON.stringify(a))).join(' '),
  };
}

async function writeOutputs(o: Record<string, unknown>, io: CliIo, writers: Record<'json' | 'html' | 'junit', (() => string | Promise<string>) | null>): Promise<void> {
  for (const kind of ['json', 'html', 'junit'] as const) {
    const file = o[kind] as string | undefined;
    const write = writers[kind];
    if (!file || !write) continue;
    const path = resolve(file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, await write());
    io.err(`robustest: ${kind === 'html' ? 'HTML report' : kind === 'json' ? 'JSON results' : 'JUnit XML'} written to ${path}\n`);
  }
}

function parseEpsilons(value: string): number[] {
  const list = value.split(',').map((part) => {
    const [num, den] = part.trim().split('/');
    const v = den === undefined ? Number(num) : Number(num) / Number(den);
    if (!Number.isFinite(v) || v < 0 || part.trim() === '') throw new InvalidArgumentError(`"${part}" is not a budget (a number ≥ 0, or a fraction such as 8/255).`);
    return v;
  });
  // Curves and tables read in increasing ε; a budget listed twice is measured once.
  return [...new Set(list)].sort((a, b) => a - b);
}

function parseNumber(flag: string) {
  return (value: string): number => {
    const v = Number(value);
    if (!Number.isFinite(v) || value.trim() === '') throw new InvalidArgumentError(`${flag} takes a number.`);
    return v;
  };
}

function parseCount(value: string): number {
  const v = Number(value);
  if (!Number.isInteger(v) || v < 1) throw new InvalidArgumentError('expected a whole number ≥ 1.');
  return v;
}

function parseSeed(value: string): number {
  const v = Number(value);
  if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError('expected a whole number ≥ 0.');
  return v;
}

function parseAccuracy(value: string): number {
  const v = Number(value);
  if (!(v >= 0 && v <= 1) || value.trim() === '') throw new InvalidArgumentError('expected an accuracy in [0, 1].');
  return v;
}

function parseBounds(value: string): [number, number] {
  const [low, high] = value.split(',').map(Number);
  if (low === undefined || high === undefined || !Number.isFinite(low) || !Number.isFinite(high) || !(low < high)) throw new InvalidArgumentError('expected low,high with low < high, e.g. 0,1.');
  return [low, high];
}

function parseSize(value: string): [number, number] {
  const m = /^(\d+)[x×](\d+)$/.exec(value.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new InvalidArgumentError('expected HxW, e.g. 32x32.');
  return [Number(m[1]), Number(m[2])];
}
