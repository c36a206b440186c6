/**
 * JUnit XML for CI dashboards: one test case per attack and ε (and the worst case), failed when
 * robust accuracy is below `--fail-under`; the seed, backend and versions as suite properties.
 */
import { formatEpsilon } from '../report/epsilon.js';
import type { BenchResult } from './result.js';

export function junitXml(result: BenchResult): string {
  const cases: { name: string; value: number }[] = [];
  const series = [...result.attacks.map((a) => ({ name: a.name, values: a.robustAccuracy })), ...(result.attacks.length > 1 ? [{ name: 'worst case', values: result.worstCase.robustAccuracy }] : [])];
  for (const s of series) result.epsilons.forEach((e, i) => cases.push({ name: `${s.name} at ε ${formatEpsilon(e, result.bounds)}`, value: s.values[i]! }));
  const threshold = result.failUnder;
  const failures = threshold === null ? 0 : cases.filter((c) => c.value < threshold).length;
  const properties = { seed: String(result.seed), backend: result.backend, norm: result.norm, ...result.versions };
  const seconds = result.attacks.reduce((a, b) => a + b.seconds, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="robustest bench" tests="${cases.length}" failures="${failures}" errors="0" time="${seconds.toFixed(3)}">`,
    `  <testsuite name="${attr(result.model.name)} on ${attr(result.data.name)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0" time="${seconds.toFixed(3)}">`,
    '    <properties>',
    ...Object.entries(properties).map(([k, v]) => `      <property name="${attr(k)}" value="${attr(v)}"/>`),
    '    </properties>',
    ...cases.map((c) => {
      const head = `    <testcase classname="${attr(result.model.name)}" name="${attr(c.name)}" time="0">`;
      const out = `      <system-out>robust accuracy ${c.value.toFixed(3)} (clean ${result.cleanAccuracy.toFixed(3)}, ${result.data.count} samples, seed ${result.seed})</system-out>`;
      if (threshold !== null && c.value < threshold) {
        return [head, `      <failure message="${attr(`robust accuracy ${c.value.toFixed(3)} is below ${threshold}`)}" type="robustness">${text(`Replay: ${result.command}`)}</failure>`, out, '    </testcase>'].join('\n');
      }
      return [head, out, '    </testcase>'].join('\n');
    }),
    '  </testsuite>',
    '</testsuites>',
    '',
  ];
  return lines.join('\n');
}

function text(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(value: string): string {
  return text(value).replace(/"/g, '&quot;');
}
