import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Project root, found from this file's location (test/lint/). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface SourceFile {
  /** Path relative to the project root, with `/` separators. */
  readonly path: string;
  readonly text: string;
}

/** Every `.ts` file under the given top-level folders, skipping node_modules. */
export function listSourceFiles(folders: readonly string[]): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts')) {
        out.push({ path: relative(ROOT, full).split(sep).join('/'), text: readFileSync(full, 'utf8') });
      }
    }
  };
  for (const folder of folders) {
    const dir = join(ROOT, folder);
    try {
      if (statSync(dir).isDirectory()) walk(dir);
    } catch {
      // A folder that does not exist yet has no files to check.
    }
  }
  return out;
}

/** Module specifiers of every static import, re-export and dynamic import in `text`. */
export function importSpecifiers(text: string): string[] {
  const specs: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^'"]*?\sfrom\s+['"]([^'"]+)['"]/gms,
    /^\s*import\s+['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) if (m[1] !== undefined) specs.push(m[1]);
  }
  return specs;
}

/** Text with comments and string/template contents blanked, so pattern checks see code only. */
export function codeOnly(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/(^|[^:])\/\/.*$/gm, '$1')
    .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, '""');
}
