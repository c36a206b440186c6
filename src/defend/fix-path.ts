/**
 * The fix path printed under a failing robustness verdict: the adversarialTraining call that
 * trains against the attack that failed, at its ε, written as code the user can paste.
 */
import type { Attack } from '../attacks/types.js';

function literal(value: unknown): string {
  if (typeof value === 'string') return `'${value.replace(/'/g, "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== 'function');
    return entries.length === 0 ? '{}' : `{ ${entries.map(([k, v]) => `${k}: ${literal(v)}`).join(', ')} }`;
  }
  return String(value);
}

/** The attack as its factory call, e.g. `apgd({ loss: 'dlr' })`; null when it has no recipe. */
export function attackCall(attack: Attack): string | null {
  if (!attack.recipe) return null;
  const options = literal(attack.recipe.options ?? {});
  return `${attack.recipe.factory}(${options === '{}' ? '' : options})`;
}

/**
 * Lines ending a failure message. Fixed-ε attacks are trained against directly; for others (and
 * attacks without a recipe) the call trains with the built-in PGD in the attack's norm when that
 * is L∞, and says which budget to choose otherwise.
 */
export function fixPathLines(attack: Attack, epsilon: number | undefined): string[] {
  const call = attackCall(attack);
  const budget = epsilon === undefined ? 'epsilon: /* the budget to defend */ 0.1' : `epsilon: ${epsilon}`;
  let options: string;
  if (attack.kind === 'fixed-epsilon' && call !== null) options = `{ method: 'pgd', attack: ${call}, ${budget} }`;
  else if (attack.norm === 'linf') options = `{ method: 'pgd', ${budget} }`;
  else if (attack.norm === 'l2' || attack.norm === 'l1') options = `{ method: 'pgd', attack: pgd({ norm: '${attack.norm}' }), ${budget} }`;
  else return [];
  return [
    'Fix path: train against this attack (a tfjs LayersModel, in place), then rerun this test:',
    `  await adversarialTraining(model, trainingData, ${options});`,
  ];
}

/**
 * Lines ending a failed certification: certified training with interval bounds (IBP) at the ε
 * that failed, for L∞; in L2, where IBP training does not apply, adversarial training in L2.
 */
export function certifiedFixPathLines(epsilon: number, norm: 'linf' | 'l2'): string[] {
  return norm === 'linf'
    ? ['Fix path: certified training with interval bounds (a tfjs LayersModel, in place), then rerun this test:', `  await adversarialTraining(model, trainingData, { method: 'ibp', epsilon: ${epsilon} });`]
    : ['Fix path: adversarial training in L2 (a tfjs LayersModel, in place); certificates follow robustness, so rerun this test after it:', `  await adversarialTraining(model, trainingData, { method: 'pgd', attack: pgd({ norm: 'l2' }), epsilon: ${epsilon} });`];
}
