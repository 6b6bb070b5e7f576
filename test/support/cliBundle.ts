/**
 * The CLI bundled (lab/cliBundle.ts) for the tests' many `lifeboat` calls: built once per run by the
 * global setup, run with plain node. Through tsx a call costs about 1.2 s of CPU before it does
 * anything, this way about 0.5 s, and the tests make hundreds of them. bin/lifeboat still runs what a
 * bundle cannot: `lifeboat worker` (it imports activities/ by path) and adapter modules other than the lab's.
 */
import { join, resolve } from 'node:path';
import { bundleCli } from '../../lab/cliBundle';

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

export function buildCliBundles(): void {
  bundleCli(CLI_BUNDLES.plain);
  // The adapter before main.ts reads any spec, after the thread pool is sized (main.ts's first import).
  bundleCli(CLI_BUNDLES.lab, ['./src/cli/threadPool', './lab/brokerControl', './src/cli/main']);
}
