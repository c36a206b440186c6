/**
 * The versions a report needs for someone to replay it: robustest's own, the tfjs engine's, the
 * backend it ran on, and Node's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';

let own: string | undefined;

/** robustest's version, read from the package.json above this module (source or dist). */
export function robustestVersion(): string {
  if (own !== undefined) return own;
  own = 'unknown';
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'robustest' && pkg.version) {
        own = pkg.version;
        break;
      }
    }
    dir = dirname(dir);
  }
  return own;
}

export function versions(extra: Record<string, string> = {}): Record<string, string> {
  return {
    robustest: robustestVersion(),
    '@tensorflow/tfjs-core': tf.version_core,
    node: process.version,
    ...extra,
  };
}
