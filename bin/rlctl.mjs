#!/usr/bin/env node
// rlctl: the admin CLI. The sources are TypeScript run through tsx (a runtime dependency),
// so the bin works on a fresh clone after `npm ci`, with no build step.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/cli/rlctl.ts', import.meta.url).href);
