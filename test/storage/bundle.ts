/**
 * Compiles a TypeScript script (and what it imports) into one ESM file with esbuild, so
 * tests can start it as a child process with plain `node`: about 0.1 s per start instead
 * of ~0.55 s for `node --import tsx` (measured on this machine kind). Packages stay
 * external, imported by absolute file URL, so the bundle runs from any directory.
 */
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);

/** Bundles `entry` (a path) into `outDir`; returns the output file. */
export async function bundleScript(entry: string, outDir: string): Promise<string> {
  const outfile = join(outDir, `${basename(entry, '.ts')}.mjs`);
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'silent',
    plugins: [
      {
        name: 'packages-by-absolute-url',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) => {
            if (args.path.startsWith('node:')) return { path: args.path, external: true };
            return { path: pathToFileURL(require.resolve(args.path)).href, external: true };
          });
        },
      },
    ],
  });
  return outfile;
}
