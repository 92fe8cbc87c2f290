import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One config for every tier; each tier is a folder under test/ (unit, property, lint, raft, sim, ...).
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
