/**
 * The CLI sizes libuv's thread pool to the machine before the pool starts (src/cli/threadPool.ts):
 * on two cores two threads, not Node's four (each extra thread's glibc arena is peak RSS of a
 * backup or restore, issue 15). Checked on the CLI bundled as the benchmarks and the tests run it
 * (lab/cliBundle.ts), by the threads the process runs when it exits. Through tsx (bin/lifeboat) the
 * pool has started before the CLI's code runs (tsx's loader uses it), so there the default stays.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { threadPoolSize } from '../../src/cli/threadPool';
import { CLI_BUNDLES } from '../support/cliBundle';

const tmp = mkdtempSync(join(tmpdir(), 'lifeboat-pool-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("the CLI's libuv thread pool", () => {
  it('as many threads as cores, at least 2, at most 4; a size already set wins', () => {
    expect(threadPoolSize({}, 1)).toBe('2');
    expect(threadPoolSize({}, 2)).toBe('2');
    expect(threadPoolSize({}, 3)).toBe('3');
    expect(threadPoolSize({}, 64)).toBe('4');
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '8' }, 2)).toBe('8');
  });

  it.each(Object.entries(CLI_BUNDLES))('the bundled CLI (%s) sets it before the pool starts: the process runs that many pool threads', (name, bundle) => {
    const count = join(tmp, 'count.cjs');
    writeFileSync(count, "process.on('exit', () => require('node:fs').writeSync(1, `threads=${require('node:fs').readdirSync('/proc/self/task').length}\\n`));\n");
    const threads = (env: NodeJS.ProcessEnv, repo: string): number => {
      const r = spawnSync(process.execPath, ['-r', count, bundle, 'repo', 'init', '--repo', join(tmp, repo)], { encoding: 'utf8', env: { ...env, LIFEBOAT_PASSWORD: 'pw' } });
      expect(r.status, r.stderr).toBe(0);
      return Number(/threads=(\d+)/.exec(r.stdout)?.[1]);
    };
    // The lab's environment (LIFEBOAT_ADAPTERS names a .ts module, which plain node cannot load) is not the CLI's here.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LIFEBOAT_') && k !== 'UV_THREADPOOL_SIZE'));
    const sized = threads(env, `${name}-a`);
    const eight = threads({ ...env, UV_THREADPOOL_SIZE: '8' }, `${name}-b`);
    expect(eight - sized).toBe(8 - Number(threadPoolSize({}, availableParallelism())));
  });
});
