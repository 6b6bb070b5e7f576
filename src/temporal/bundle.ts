/**
 * `npm run build:workflows [-- <out file>]`: the production worker's prebuilt workflow bundle, so a
 * worker starts without bundling (and without the TypeScript sources of workflows/ at run time).
 * Point LIFEBOAT_WORKFLOW_BUNDLE at the file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from './worker';

export async function buildWorkflowBundle(outFile: string): Promise<{ file: string; bytes: number }> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} } });
  const file = resolve(outFile);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, code);
  return { file, bytes: Buffer.byteLength(code) };
}

if (require.main === module) {
  buildWorkflowBundle(process.argv[2] ?? 'dist/workflow-bundle.js').then(
    (r) => console.log(`workflow bundle: ${r.file} (${(r.bytes / 1024).toFixed(0)} KiB); run workers with LIFEBOAT_WORKFLOW_BUNDLE=${r.file}`),
    (e: unknown) => {
      console.error(`lifeboat: cannot build the workflow bundle: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
