// Proves docs/DESIGN.md stays true to the code: every code block marked
// `<!-- excerpt: <path> -->` appears verbatim in that file, every TypeScript block is marked,
// the Mermaid block equals docs/img/architecture.mmd, and the rendered SVG records the hash
// of that same source. The checker is also run on planted drift (a changed character, a
// missing file, a marker without a block, an unmarked block) to show it fails when it must.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const DESIGN = 'docs/DESIGN.md';
const MERMAID_SOURCE = 'docs/img/architecture.mmd';
const SVG = 'docs/img/architecture.svg';

const EXCERPT_MARKER = /^<!-- excerpt: (\S+) -->$/;
/** A TypeScript block that is deliberately not an excerpt (e.g. a script to run) says so. */
const NOT_AN_EXCERPT_MARKER = '<!-- not an excerpt -->';

interface Excerpt {
  readonly path: string;
  readonly code: string;
  /** 1-based line of the marker in the document. */
  readonly line: number;
}

/** Reads a repository file, or null when it does not exist. */
type ReadFile = (path: string) => string | null;

const readRepoFile: ReadFile = (path) => {
  const full = join(ROOT, path);
  return existsSync(full) ? readFileSync(full, 'utf8') : null;
};

/** The excerpts of `markdown` and the problems found while reading them. */
function parseExcerpts(markdown: string): { excerpts: Excerpt[]; problems: string[] } {
  const lines = markdown.split('\n');
  const excerpts: Excerpt[] = [];
  const problems: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const marker = EXCERPT_MARKER.exec(line);
    if (marker !== null) {
      if (lines[i + 1] !== '```ts') {
        problems.push(`line ${i + 1}: excerpt marker for ${marker[1]} is not followed by a \`\`\`ts block`);
        continue;
      }
      const end = lines.indexOf('```', i + 2);
      if (end < 0) {
        problems.push(`line ${i + 1}: the block of the excerpt of ${marker[1]} is never closed`);
        continue;
      }
      excerpts.push({ path: marker[1] as string, code: lines.slice(i + 2, end).join('\n'), line: i + 1 });
      i = end;
      continue;
    }
    if (line === '```ts' && lines[i - 1] !== NOT_AN_EXCERPT_MARKER) {
      problems.push(`line ${i + 1}: a \`\`\`ts block without an excerpt marker (add <!-- excerpt: path --> above it, or ${NOT_AN_EXCERPT_MARKER})`);
    }
  }
  return { excerpts, problems };
}

/** Every problem with the excerpts of `markdown`: none means every excerpt matches its file. */
function checkExcerpts(markdown: string, read: ReadFile): string[] {
  const { excerpts, problems } = parseExcerpts(markdown);
  for (const e of excerpts) {
    const text = read(e.path);
    if (text === null) {
      problems.push(`line ${e.line}: ${e.path} does not exist`);
      continue;
    }
    if (e.code.trim() === '') problems.push(`line ${e.line}: the excerpt of ${e.path} is empty`);
    else if (!text.includes(e.code)) problems.push(`line ${e.line}: the excerpt of ${e.path} no longer appears verbatim in it:\n${e.code}`);
  }
  return problems;
}

/** The content of the first ```mermaid block, or null. */
function mermaidBlock(markdown: string): string | null {
  const m = /^```mermaid\n([\s\S]*?)\n```$/m.exec(markdown);
  return m === null ? null : (m[1] as string);
}

function read(path: string): string {
  const text = readRepoFile(path);
  if (text === null) throw new Error(`${path} is missing`);
  return text;
}

describe('docs/DESIGN.md excerpts', () => {
  const design = read(DESIGN);

  it('every excerpt appears verbatim in its source file, and every ts block is marked', () => {
    expect(checkExcerpts(design, readRepoFile)).toEqual([]);
  });

  it('quotes real code: at least ten excerpts from at least eight files', () => {
    const { excerpts } = parseExcerpts(design);
    expect(excerpts.length).toBeGreaterThanOrEqual(10);
    expect(new Set(excerpts.map((e) => e.path)).size).toBeGreaterThanOrEqual(8);
  });

  it('the Mermaid block equals docs/img/architecture.mmd', () => {
    expect(mermaidBlock(design)).toBe(read(MERMAID_SOURCE).replace(/\n$/, ''));
  });

  it('the SVG was rendered from the current architecture.mmd (its recorded sha256 matches)', () => {
    const svg = read(SVG);
    const recorded = /^<!-- rendered from docs\/img\/architecture\.mmd sha256:([0-9a-f]{64}) /.exec(svg);
    expect(recorded, 'the SVG must open with the rendering comment (docs/img/render-architecture.mjs)').not.toBeNull();
    const sha = createHash('sha256').update(read(MERMAID_SOURCE)).digest('hex');
    expect((recorded as RegExpExecArray)[1], 're-render: node docs/img/render-architecture.mjs').toBe(sha);
    expect(svg).toContain('<svg');
    expect(svg).not.toContain('<foreignObject'); // plain SVG text: renders wherever an <img> does
  });
});

describe('the excerpt checker fails on drift', () => {
  const file = 'src/engine/gcra.ts';
  const source = read(file);
  const real = source.split('\n').slice(70, 75).join('\n'); // five real lines of the file
  const doc = (path: string, code: string): string => `text\n\n<!-- excerpt: ${path} -->\n\`\`\`ts\n${code}\n\`\`\`\n`;

  it('accepts a real excerpt', () => {
    expect(real.trim()).not.toBe('');
    expect(checkExcerpts(doc(file, real), readRepoFile)).toEqual([]);
  });

  it('reports an excerpt with one character changed', () => {
    const drifted = `${real.slice(0, -1)}${real.endsWith(';') ? ':' : ';'}`; // the last character changed
    expect(drifted).not.toBe(real);
    const problems = checkExcerpts(doc(file, drifted), readRepoFile);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/line 3: the excerpt of src\/engine\/gcra\.ts no longer appears verbatim/);
  });

  it('reports an excerpt whose indentation changed', () => {
    const reindented = real
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n');
    expect(checkExcerpts(doc(file, reindented), readRepoFile)).toHaveLength(1);
  });

  it('reports a file that does not exist, and an empty excerpt', () => {
    expect(checkExcerpts(doc('src/engine/no-such-file.ts', real), readRepoFile)).toEqual(['line 3: src/engine/no-such-file.ts does not exist']);
    expect(checkExcerpts(doc(file, ''), readRepoFile)).toEqual(['line 3: the excerpt of src/engine/gcra.ts is empty']);
  });

  it('reports a marker without a block, an unclosed block and an unmarked ts block', () => {
    expect(checkExcerpts(`<!-- excerpt: ${file} -->\n\nsome text\n`, readRepoFile)[0]).toMatch(/not followed by a ```ts block/);
    expect(checkExcerpts(`<!-- excerpt: ${file} -->\n\`\`\`ts\n${real}\n`, readRepoFile)[0]).toMatch(/never closed/);
    expect(checkExcerpts(`text\n\`\`\`ts\n${real}\n\`\`\`\n`, readRepoFile)[0]).toMatch(/line 2: a ```ts block without an excerpt marker/);
    expect(checkExcerpts(`${NOT_AN_EXCERPT_MARKER}\n\`\`\`ts\nconst x = 1;\n\`\`\`\n`, readRepoFile)).toEqual([]);
  });

  it('compares against the file on disk, so an edited source fails the real document too', () => {
    const { excerpts } = parseExcerpts(read(DESIGN));
    const first = excerpts[0] as Excerpt;
    const edited: ReadFile = (path) => {
      const text = readRepoFile(path);
      return path === first.path && text !== null ? text.replace(first.code, first.code.replace(/\S/, '#')) : text;
    };
    const problems = checkExcerpts(read(DESIGN), edited);
    expect(problems.length).toBeGreaterThanOrEqual(1);
    expect(problems[0]).toContain(`the excerpt of ${first.path} no longer appears verbatim`);
  });
});
