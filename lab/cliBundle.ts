/**
 * The CLI bundled by esbuild into one CommonJS file that plain `node` runs, as a release would ship
 * it: our sources only, packages (native zstd included) stay in node_modules, so the file must sit
 * under the checkout's node_modules/ for them to resolve. The benchmarks time it; the tests run it
 * instead of tsx (test/support/cliBundle.ts).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = resolve(__dirname, '..');

/**
 * Writes the bundle of `entries` (imported in order, paths from the checkout) to `outfile` and
 * returns it. Atomically: a half-written bundle is never run by a process that finds the file.
 */
export function bundleCli(outfile: string, entries: string[] = ['./src/cli/main']): string {
  const result = buildSync({
    stdin: { contents: entries.map((m) => `import ${JSON.stringify(m)};`).join('\n'), resolveDir: ROOT, loader: 'ts', sourcefile: 'lifeboat-cli-entry.ts' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    logLevel: 'warning',
    write: false,
  });
  mkdirSync(dirname(outfile), { recursive: true });
  const part = `${outfile}.${process.pid}.part`;
  writeFileSync(part, result.outputFiles[0]!.contents);
  renameSync(part, outfile);
  return outfile;
}
