/**
 * A local backup or restore does not load the AWS SDK or Temporal's modules (tens of MB of a CLI
 * process's peak RSS, issue 15): the S3 backend loads its SDK when an s3:// repository is opened,
 * and a spec's secret error looks for an activity context only when it happens. Nor zod and yaml
 * (the cluster spec's module, ~13 MB) unless a spec is read, nor cli-progress unless a bar is drawn.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');

function modulesLoadedBy(code: string): string[] {
  const r = spawnSync(join(ROOT, 'node_modules/.bin/tsx'), ['-e', `${code}; process.stdout.write(JSON.stringify(Object.keys(require.cache)))`], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as string[];
}

describe('modules a local repository command loads', () => {
  it('the repo command and a local repository opened: no AWS SDK, no Temporal', () => {
    const loaded = modulesLoadedBy(
      "require('./src/cli/commands/repo'); const { openBackend } = require('./src/repository'); openBackend(require('node:os').tmpdir())",
    );
    expect(loaded.some((m) => m.includes('/src/repository/repo.ts'))).toBe(true);
    expect(loaded.filter((m) => m.includes('@aws-sdk/') || m.includes('@temporalio/'))).toEqual([]);
  });

  it('the CLI entry, its output and the repo command: no zod, no yaml, no cli-progress', () => {
    const loaded = modulesLoadedBy(
      "require('./src/cli/output'); require('./src/cli/requireSpec' && './src/cli/progressBar'); require('./src/cli/commands/repo'); require('./src/repository')",
    );
    expect(loaded.some((m) => m.includes('/src/cli/commands/repo.ts'))).toBe(true);
    expect(loaded.filter((m) => /\/node_modules\/(zod|yaml|cli-progress)\//.test(m) || m.endsWith('/src/config/spec.ts'))).toEqual([]);
  });

  it('a spec read by the repo command loads them then', () => {
    const loaded = modulesLoadedBy("require('./src/cli/requireSpec')");
    expect(loaded.some((m) => m.includes('/node_modules/zod/'))).toBe(true);
  });

  it('an s3:// repository opened loads the SDK then', () => {
    const loaded = modulesLoadedBy(
      "const { openBackend } = require('./src/repository'); openBackend({ kind: 's3', bucket: 'b', prefix: '', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', pathStyle: true, accessKeyId: 'a', secretAccessKey: 's' })",
    );
    expect(loaded.some((m) => m.includes('@aws-sdk/client-s3'))).toBe(true);
  });
});
