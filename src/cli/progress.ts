/**
 * Progress of a long run: a live bar (cli-progress) on an interactive terminal, one plain line
 * per step elsewhere (CI logs, pipes), where a redrawn bar would only add noise.
 */
import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  /** A new stage, e.g. one attack over all samples. */
  start(label: string, total: number): void;
  update(done: number): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Draw a live bar; default: when stderr is a terminal and not under CI. */
  live?: boolean;
  write?: (line: string) => void;
}

export function progress(options: ProgressOptions = {}): Progress {
  const live = options.live ?? (Boolean(process.stderr.isTTY) && !process.env.CI);
  return live ? new LiveProgress() : new PlainProgress(options.write ?? ((line) => process.stderr.write(`${line}\n`)));
}

class LiveProgress implements Progress {
  private bar: SingleBar | null = null;

  start(label: string, total: number): void {
    this.stop();
    this.bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} samples · {percentage}% · ETA {eta_formatted}`, hideCursor: true, clearOnComplete: false, stream: process.stderr }, Presets.shades_classic);
    this.bar.start(total, 0);
  }

  update(done: number): void {
    this.bar?.update(done);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

class PlainProgress implements Progress {
  private label = '';
  private total = 0;
  private started = 0;

  constructor(private readonly write: (line: string) => void) {}

  start(label: string, total: number): void {
    this.label = label;
    this.total = total;
    this.started = Date.now();
    this.write(`${label}: 0/${total} samples`);
  }

  update(done: number): void {
    const elapsed = (Date.now() - this.started) / 1000;
    const eta = done > 0 && done < this.total ? `, ETA ${Math.ceil((elapsed * (this.total - done)) / done)} s` : '';
    this.write(`${this.label}: ${done}/${this.total} samples (${elapsed.toFixed(1)} s${eta})`);
  }

  stop(): void {}
}
