/**
 * The training progress bar (cli-progress) on stderr. 'auto' shows it only on an interactive
 * terminal outside CI (ci-info), so logs of CI runs and test runners stay clean.
 */
import cliProgress from 'cli-progress';
import ciInfo from 'ci-info';

export interface Progress {
  update(done: number, fields: { epoch: string; epsilon: string; loss: string }): void;
  stop(): void;
}

const SILENT: Progress = { update() {}, stop() {} };

export function progressBar(setting: boolean | 'auto', total: number, method: string): Progress {
  const show = setting === true || (setting === 'auto' && process.stderr.isTTY === true && !ciInfo.isCI);
  if (!show) return SILENT;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `adversarialTraining (${method}) [{bar}] {percentage}% | epoch {epoch} | ε {epsilon} | loss {loss} | eta {eta_formatted}`,
      hideCursor: true,
      // `true` asks for the bar even where stderr is not a terminal (a log file): redrawn every few seconds.
      noTTYOutput: setting === true,
      notTTYSchedule: 5000,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { epoch: '-', epsilon: '-', loss: '-' });
  return {
    update: (done, fields) => bar.update(done, fields),
    stop: () => bar.stop(),
  };
}
