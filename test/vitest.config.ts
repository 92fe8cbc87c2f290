import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One config for every tier; each tier is a folder under test/ (unit, property, lint, raft, sim, ...).
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Both cores: the default leaves one free, which runs the files one after another on 2 cores.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
