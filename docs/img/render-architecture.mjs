// Renders docs/img/architecture.mmd to docs/img/architecture.svg with Mermaid in headless
// Chromium, offline. Mermaid is not a dependency of the project; install it anywhere:
//   (cd /tmp/mm && npm install mermaid@11)
//   MERMAID_JS=/tmp/mm/node_modules/mermaid/dist/mermaid.min.js CHROMIUM=/usr/bin/chromium \
//     node docs/img/render-architecture.mjs
// The SVG opens with the sha256 of the source it was rendered from;
// test/unit/design-excerpts.test.ts fails when the source changed and the SVG was not re-rendered.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const mermaidJs = process.env.MERMAID_JS;
if (mermaidJs === undefined) throw new Error('set MERMAID_JS to mermaid/dist/mermaid.min.js');
const version = JSON.parse(readFileSync(join(dirname(dirname(mermaidJs)), 'package.json'), 'utf8')).version;
const source = readFileSync(here('architecture.mmd'), 'utf8');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  await page.setContent('<html><body></body></html>');
  await page.addScriptTag({ path: mermaidJs });
  const svg = await page.evaluate(async (text) => {
    const m = window.mermaid;
    // Plain SVG text (no HTML in foreignObject), so the file renders anywhere an <img> does.
    m.initialize({ startOnLoad: false, htmlLabels: false, theme: 'neutral', flowchart: { htmlLabels: false, curve: 'basis' }, securityLevel: 'strict' });
    const out = await m.render('architecture', text);
    return out.svg;
  }, source);
  const sha = createHash('sha256').update(source).digest('hex');
  writeFileSync(here('architecture.svg'), `<!-- rendered from docs/img/architecture.mmd sha256:${sha} by mermaid ${version} (docs/img/render-architecture.mjs) -->\n${svg}\n`);
} finally {
  await browser.close();
}
