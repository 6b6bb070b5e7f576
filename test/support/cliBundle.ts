/**
 * The CLI as one CommonJS file for the tests' many `lifeboat` calls: built once per run by the
 * global setup (esbuild, our sources only; packages stay in node_modules), run with plain node.
 * Through tsx a call costs about 1.2 s of CPU before it does anything, this way about 0.5 s, and the
 * tests make hundreds of them. bin/lifeboat still runs what a bundle cannot: `lifeboat worker` (it
 * imports activities/ by path) and adapter modules other than the lab's.
 */
import { renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = resolve(__dirname, '..', '..');
/**
 * Directly under node_modules/.cache: the bundle's `__dirname` is then two levels below the
 * checkout, as src/temporal's is, so the paths it derives from it (workflows/, activities/) hold.
 */
const DIR = join(ROOT, 'node_modules', '.cache');

export const LAB_ADAPTER_MODULE = join(ROOT, 'lab', 'brokerControl.ts');

export const CLI_BUNDLES = {
  /** The CLI alone: for calls whose LIFEBOAT_ADAPTERS is empty. */
  plain: join(DIR, 'lifeboat-cli.cjs'),
  /** The CLI with the lab's broker-control adapter registered: for calls whose LIFEBOAT_ADAPTERS names only it. */
  lab: join(DIR, 'lifeboat-cli-lab.cjs'),
} as const;

function build(outfile: string, imports: string[]): void {
  const result = buildSync({
    stdin: { contents: imports.map((m) => `import ${JSON.stringify(m)};`).join('\n'), resolveDir: ROOT, loader: 'ts', sourcefile: 'lifeboat-cli-entry.ts' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    logLevel: 'warning',
    write: false,
  });
  // Atomically: both test projects' setups build it, and a half-written file must never be run.
  const part = `${outfile}.${process.pid}.part`;
  writeFileSync(part, result.outputFiles[0]!.contents);
  renameSync(part, outfile);
}

export function buildCliBundles(): void {
  mkdirSync(DIR, { recursive: true });
  build(CLI_BUNDLES.plain, ['./src/cli/main']);
  // The adapter before main.ts reads any spec, after the thread pool is sized (main.ts's first import).
  build(CLI_BUNDLES.lab, ['./src/cli/threadPool', './lab/brokerControl', './src/cli/main']);
}
