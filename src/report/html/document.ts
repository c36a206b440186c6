/**
 * What an HTML report shows, as plain data: the CLI builds one from its evaluation, the Vitest
 * reporter from the records of a run. `renderReport` turns it into one self-contained page.
 */
import type { GalleryItem } from './gallery.js';

/** Robust accuracy per ε for one attack (or the worst case over attacks). */
export interface CurveSeries {
  name: string;
  epsilons: number[];
  robustAccuracy: number[];
}

/** Sound lower bounds next to the attacks' upper bounds, per ε. */
export interface CertifiedBracket {
  method: string;
  epsilons: number[];
  certified: number[];
  /** The attacks' robust accuracy at the same ε: the bracket's upper end. */
  notFalsified: number[];
}

export interface GalleryEntry extends GalleryItem {
  /** The attack that found it and the budget it was found under, when known. */
  attack?: string;
  epsilon?: number | null;
}

export interface ReportSection {
  title: string;
  /** e.g. the attack and model. */
  subtitle: string;
  verdict: 'pass' | 'fail' | null;
  /** The requirement as written, for assertions. */
  required?: string;
  /** What the measured number is, e.g. 'robust accuracy', 'kept class'. */
  measure: string;
  cleanAccuracy: number;
  count?: number;
  norm?: string;
  bounds?: [number, number];
  /** One table row per ε: the value measured per series. */
  curves: CurveSeries[];
  /** Worst case over the curves, drawn and tabulated when there are several. */
  worstCase?: CurveSeries;
  certified?: CertifiedBracket;
  /** Warnings about how far the numbers can be trusted. */
  flags?: string[];
  gallery: GalleryEntry[];
  seed: number | null;
  /** The number an assertion was judged on, when it is not a point of the curves. */
  measured?: number;
  /** Where the matcher wrote its picture, when it did. */
  picture?: string | null;
}

export interface ReportEnvironment {
  seed: number | null;
  backend: string;
  engine?: string;
  /** Package name → version, e.g. robustest, @tensorflow/tfjs-core, node. */
  versions: Record<string, string>;
  /** How to replay the run, e.g. the command line. */
  command?: string;
}

export interface ReportDocument {
  title: string;
  /** ISO time the report was written. */
  generated: string;
  summary?: string;
  environment: ReportEnvironment;
  sections: ReportSection[];
  /** Class names by index, when given. */
  classNames?: string[];
}
