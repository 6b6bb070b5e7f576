/**
 * libuv's thread pool sized to the machine, before its first use (libuv reads UV_THREADPOOL_SIZE
 * when the pool starts, so setting it at the top of the entry point works like setting it before
 * node starts). Node's default is 4 threads whatever the cores; on a two-core machine the two extra
 * threads add no throughput to a backup or restore (zstd, SHA-256 and writes are CPU-bound) but each
 * keeps its own glibc arena of freed chunk buffers: 10-15 MB of peak RSS (issue 15, docs/benchmarks.md).
 * So: as many threads as cores, at least 2 and at most Node's 4. A UV_THREADPOOL_SIZE already set wins.
 */
import { availableParallelism } from 'node:os';

export function threadPoolSize(env: NodeJS.ProcessEnv, cores: number): string {
  return env.UV_THREADPOOL_SIZE || String(Math.min(4, Math.max(2, cores)));
}

process.env.UV_THREADPOOL_SIZE = threadPoolSize(process.env, availableParallelism());
