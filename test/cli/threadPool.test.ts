/**
 * The CLI sizes libuv's thread pool to the machine before the pool starts (src/cli/threadPool.ts):
 * on two cores two threads, not Node's four (each extra thread's glibc arena is peak RSS of a
 * backup or restore, issue 15). Checked on the CLI bundled as the repository benchmark runs it
 * (bench/repository.ts), by the threads the process runs when it exits. Through tsx (bin/lifeboat)
 * the pool has started before the CLI's code runs (tsx's loader uses it), so there the default stays.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { threadPoolSize } from '../../src/cli/threadPool';

const ROOT = resolve(__dirname, '../..');
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

  it('the bundled CLI sets it before the pool starts: the process runs that many pool threads', () => {
    // Under node_modules/ like the benchmark's bundle, so its external packages resolve.
    const dir = join(ROOT, 'node_modules/.cache/lifeboat-test');
    mkdirSync(dir, { recursive: true });
    const bundle = join(dir, `cli-${process.pid}.cjs`);
    const esbuild = join(ROOT, 'node_modules/.bin/esbuild');
    execFileSync(esbuild, [join(ROOT, 'src/cli/main.ts'), '--bundle', '--platform=node', '--target=node20', '--format=cjs', '--packages=external', `--outfile=${bundle}`, '--log-level=warning']);
    const count = join(tmp, 'count.cjs');
    writeFileSync(count, "process.on('exit', () => require('node:fs').writeSync(1, `threads=${require('node:fs').readdirSync('/proc/self/task').length}\\n`));\n");
    const threads = (env: NodeJS.ProcessEnv, repo: string): number => {
      const r = spawnSync(process.execPath, ['-r', count, bundle, 'repo', 'init', '--repo', join(tmp, repo)], { encoding: 'utf8', env: { ...env, LIFEBOAT_PASSWORD: 'pw' } });
      expect(r.status, r.stderr).toBe(0);
      return Number(/threads=(\d+)/.exec(r.stdout)?.[1]);
    };
    try {
      // The lab's environment (LIFEBOAT_ADAPTERS names a .ts module, which plain node cannot load) is not the CLI's here.
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LIFEBOAT_') && k !== 'UV_THREADPOOL_SIZE'));
      const sized = threads(env, 'a');
      const eight = threads({ ...env, UV_THREADPOOL_SIZE: '8' }, 'b');
      expect(eight - sized).toBe(8 - Number(threadPoolSize({}, availableParallelism())));
    } finally {
      rmSync(bundle, { force: true });
    }
  });
});
