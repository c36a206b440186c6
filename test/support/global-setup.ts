/**
 * Builds dist/ once per test run: packaging, type and end-to-end tests use the built package,
 * as a user would.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const tsup = join(root, 'node_modules', 'tsup', 'dist', 'cli-default.js');
  execFileSync(process.execPath, [tsup], { cwd: root, stdio: 'pipe' });
}
