import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    vitest: 'matchers/vitest.ts',
    jest: 'matchers/jest.ts',
    'jest-globals': 'matchers/jest-globals.ts',
    matchers: 'matchers/index.ts',
    reporter: 'matchers/reporter.ts',
    // The `robustest` command (package.json bin).
    cli: 'src/cli/bin.ts',
    // Loaded by evaluate's worker threads, next to the bundle.
    'shard-worker': 'src/engine/shards/worker.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  target: 'node20',
  splitting: true,
  // import.meta.url in the CommonJS build, to find shard-worker.js.
  shims: true,
  sourcemap: false,
  // The user's tfjs engine must be the one we use: never bundle tfjs or the test frameworks.
  external: [/^@tensorflow\//, 'vitest', 'jest', '@jest/globals', '@jest/expect', 'expect', 'onnxruntime-node', 'fast-check'],
});
