/**
 * Writes docs/img/adaptive-convergence.svg from the simulated convergence run
 * (`npm run adaptive:chart`); test/adaptive/controller.test.ts fails when the file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CHART_PATH, renderChart } from './convergence-chart.js';

const target = fileURLToPath(new URL(`../../${CHART_PATH}`, import.meta.url));
writeFileSync(target, renderChart());
process.stdout.write(`wrote ${CHART_PATH}\n`);
