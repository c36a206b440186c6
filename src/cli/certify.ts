/**
 * `robustest certify`: sound lower bounds on robust accuracy (certify's IBP, CROWN or α-CROWN)
 * next to an attack's upper bound, per ε — robust accuracy is bracketed by the two, as verify()
 * reports it. `--fail-under` gates on the certified (lower) side.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ensureBackend } from '../backend.js';
import { verify } from '../certify/verify.js';
import type { CertifyMethod } from '../certify/report.js';
import { formatEpsilon } from '../report/epsilon.js';
import type { ReportDocument } from '../report/html/document.js';
import { robustestVersion, versions } from '../report/html/environment.js';
import { cut, TABLE_WIDTH } from '../report/table.js';
import type { Norm } from '../norms.js';
import { parseAttacks } from './attacks.js';
import type { Progress } from './progress.js';
import { loadSubject, type SubjectOptions } from './subject.js';

export interface CertifyCliOptions extends SubjectOptions {
  attack: string;
  method: CertifyMethod;
  epsilons: number[];
  norm: Norm;
  seed: number;
  failUnder: number | null;
  command: string;
}

export interface CertifyResult {
  robustest: string;
  command: string;
  model: { path: string; name: string; format: string };
  data: { source: string; name: string; count: number; shape: number[] };
  norm: string;
  method: string;
  attack: string;
  epsilons: number[];
  seed: number;
  backend: string;
  versions: Record<string, string>;
  cleanAccuracy: number;
  /** Per ε: the certified share (lower bound) and the share the attack did not break (upper bound). */
  certified: number[];
  notFalsified: number[];
  failUnder: number | null;
  passed: boolean;
}

export async function runCertify(options: CertifyCliOptions, progress: Progress): Promise<{ result: CertifyResult; table: string; document: ReportDocument }> {
  const [{ attack, name }] = parseAttacks(options.attack, options.norm) as [ReturnType<typeof parseAttacks>[number]];
  const backend = await ensureBackend();
  const { loaded, data } = await loadSubject(options);
  try {
    const count = data.shape[0]!;
    progress.start(`certify (${options.method}) and ${name}`, count);
    const inputs = tf.tensor(data.inputs, data.shape);
    let report;
    try {
      report = await verify(loaded.clf, { inputs, labels: Array.from(data.labels) }, { epsilons: options.epsilons, attack, method: options.method, seed: options.seed });
    } finally {
      inputs.dispose();
    }
    progress.update(count);
    progress.stop();
    const certified = report.robustAccuracy.map(([low]) => low);
    const notFalsified = report.robustAccuracy.map(([, high]) => high);
    const passed = options.failUnder === null || certified.every((c) => c + 1e-9 >= options.failUnder!);
    const result: CertifyResult = {
      robustest: robustestVersion(),
      command: options.command,
      model: { path: options.model, name: loaded.clf.name, format: loaded.format },
      data: { source: options.data, name: data.name, count, shape: data.shape.slice(1) },
      norm: report.norm,
      method: report.method,
      attack: attack.describe(),
      epsilons: report.epsilons,
      seed: options.seed,
      backend,
      versions: versions(),
      cleanAccuracy: report.cleanAccuracy,
      certified,
      notFalsified,
      failUnder: options.failUnder,
      passed,
    };
    return { result, table: certifyTable(result, options.bounds), document: certifyDocument(result, options.bounds, data.classNames) };
  } finally {
    await loaded.release();
  }
}

function certifyTable(r: CertifyResult, bounds: [number, number]): string {
  const first = Math.max(5, ...r.epsilons.map((e) => formatEpsilon(e, bounds).length));
  const head = `${'ε'.padStart(first)}  ${'certified'.padStart(9)}  ${'not falsified'.padStart(13)}`;
  return [
    cut(`Certified robust accuracy of ${r.model.name} on ${r.data.count} inputs of ${r.data.name} (${r.norm}, ${r.method}; attack ${r.attack}; seed ${r.seed})`, TABLE_WIDTH),
    '',
    head,
    '─'.repeat(head.length),
    `${'clean'.padStart(first)}  ${r.cleanAccuracy.toFixed(3).padStart(9)}  ${r.cleanAccuracy.toFixed(3).padStart(13)}`,
    ...r.epsilons.map((e, i) => `${formatEpsilon(e, bounds).padStart(first)}  ${r.certified[i]!.toFixed(3).padStart(9)}  ${r.notFalsified[i]!.toFixed(3).padStart(13)}`),
    ...(r.failUnder === null ? [] : ['', r.passed ? `Certified robust accuracy is at least ${r.failUnder} at every ε.` : `FAIL: certified robust accuracy falls below ${r.failUnder}.`]),
  ].join('\n');
}

function certifyDocument(r: CertifyResult, bounds: [number, number], classNames: string[] | undefined): ReportDocument {
  return {
    title: `robustest certify: ${r.model.name} on ${r.data.name}`,
    generated: new Date().toISOString(),
    summary: `Certified robust accuracy ${Math.min(...r.certified).toFixed(3)} at worst; clean accuracy ${r.cleanAccuracy.toFixed(3)}.`,
    environment: { seed: r.seed, backend: r.backend, engine: r.model.format, versions: r.versions, command: r.command },
    classNames,
    sections: [
      {
        title: `${r.model.name} (${r.model.path})`,
        subtitle: `${r.method} bounds · ${r.attack}`,
        verdict: r.failUnder === null ? null : r.passed ? 'pass' : 'fail',
        required: r.failUnder === null ? undefined : `≥ ${r.failUnder}`,
        measure: 'robust accuracy',
        cleanAccuracy: r.cleanAccuracy,
        count: r.data.count,
        norm: r.norm,
        bounds,
        curves: [
          { name: `certified (${r.method})`, epsilons: r.epsilons, robustAccuracy: r.certified },
          { name: 'not falsified', epsilons: r.epsilons, robustAccuracy: r.notFalsified },
        ],
        certified: { method: r.method, epsilons: r.epsilons, certified: r.certified, notFalsified: r.notFalsified },
        gallery: [],
        seed: r.seed,
      },
    ],
  };
}
