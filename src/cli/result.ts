/**
 * What `robustest bench` measured, as written by `--json` (schema: src/cli/bench.schema.json):
 * the curve of each attack, the worst case over attacks per sample, counterexamples, and what
 * replays the run.
 */
import type { ReliabilityFlag } from '../attacks/reliability.js';
import type { GalleryEntry } from '../report/html/document.js';

export interface AttackResult {
  /** As typed on the command line. */
  name: string;
  /** The attack's own description, with its options. */
  description: string;
  robustAccuracy: number[];
  seconds: number;
  reliability: ReliabilityFlag[];
}

export interface BenchCounterexample {
  index: number;
  label: number;
  adversarialClass: number;
  /** Smallest listed ε at which an attack broke it. */
  epsilon: number | null;
  attack: string;
  linf: number;
  l2: number;
  l0: number;
}

export interface BenchResult {
  robustest: string;
  command: string;
  model: { path: string; name: string; format: string };
  data: { source: string; name: string; count: number; shape: number[]; classNames: string[] | null };
  norm: string;
  epsilons: number[];
  bounds: [number, number];
  seed: number;
  backend: string;
  versions: Record<string, string>;
  cleanAccuracy: number;
  attacks: AttackResult[];
  /** Per sample the strongest attack: robust only if every attack failed. */
  worstCase: { robustAccuracy: number[] };
  counterexamples: BenchCounterexample[];
  failUnder: number | null;
  /** False when some worst-case robust accuracy is below failUnder. */
  passed: boolean;
}

/** Result plus the images the HTML report shows; images stay out of the JSON. */
export interface BenchOutcome {
  result: BenchResult;
  gallery: GalleryEntry[];
}
