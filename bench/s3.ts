/**
 * S3 benchmark (issue 15): Lifeboat's repository on an S3-compatible server vs restic 0.14's S3
 * backend on the same server in the same run, on the repository bench's data set (Kafka-like 64 MiB
 * segments, bench/repositoryData.ts): full backup and restore times, and `repo copy` of a local
 * repository to S3 in MB/s. The server is versitygw (the lab's, built once into the cache by
 * lab/s3.ts) started by this script on its own port and directory, so no lab needs to be up.
 * Writes the "Repository on S3" block of docs/benchmarks.md.
 *
 *   bash bench/install-peers.sh && npm run bench:s3 -- [--gib 1.1] [--dir /tmp/lifeboat-bench-s3] [--rounds 5] [--no-prefault] [--no-warmup]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, homedir, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { VERSITYGW_VERSION, ensureVersitygw } from '../lab/s3';
import { kafkaLike } from './repositoryData';
import { type Run, medianOf, timed as timedIn } from './timing';
import { bundleCli } from '../lab/cliBundle';

const ROOT = resolve(__dirname, '..');
const SEG = 64 * 1024 * 1024;
const PARTITIONS = 6;
const PASSWORD = 'bench-password';
const BUCKET = 'bench';

const { values } = parseArgs({
  options: {
    gib: { type: 'string', default: '1.1' },
    dir: { type: 'string', default: '/tmp/lifeboat-bench-s3' },
    rounds: { type: 'string', default: '5' },
    'no-write': { type: 'boolean', default: false },
    'no-prefault': { type: 'boolean', default: false },
    'no-warmup': { type: 'boolean', default: false },
  },
});
const total = Math.round(Number(values.gib) * 1024 ** 3);
const dir = resolve(values.dir!);
const rounds = Math.max(1, Number(values.rounds));
const data = join(dir, 'data');

let s3env: NodeJS.ProcessEnv = {};
/** What each timed run writes at most (a restore of the data set), made warm before it (bench/timing.ts). */
const prefaultBytes = values['no-prefault'] ? 0 : Math.round(total * 1.2);
const timed = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Run => timedIn(cmd, args, { cwd: dir, env: { ...s3env, ...env }, prefaultBytes });

function generate(): number {
  rmSync(data, { recursive: true, force: true });
  let bytes = 0;
  for (let s = 0; s < Math.ceil(total / SEG); s++) {
    const pdir = join(data, `orders-${s % PARTITIONS}`);
    mkdirSync(pdir, { recursive: true });
    const size = Math.min(SEG, total - bytes);
    const base = String(Math.floor(s / PARTITIONS) * 250_000).padStart(20, '0');
    writeFileSync(join(pdir, `${base}.log`), kafkaLike(size, s));
    const idx = Buffer.alloc(1024 * 1024);
    createHash('sha256').update(String(s)).digest().copy(idx);
    writeFileSync(join(pdir, `${base}.index`), idx);
    bytes += size + idx.length;
  }
  return bytes;
}

function treeHash(root: string): string {
  const h = createHash('sha256');
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p, `${rel}/${n}`);
      else h.update(`${rel}/${n}\0`).update(readFileSync(p));
    }
  };
  walk(root, '');
  return h.digest('hex');
}

const freePort = () =>
  new Promise<number>((ok, fail) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? ok(a.port) : fail(new Error('no port'))));
    });
  });

async function startServer(): Promise<{ proc: ChildProcess; endpoint: string; key: string; secret: string }> {
  const cacheDir = resolve(process.env.LIFEBOAT_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lifeboat'));
  const binary = ensureVersitygw({ cacheDir }, (m) => console.error(m));
  const port = await freePort();
  const key = `bench${randomBytes(6).toString('hex')}`;
  const secret = randomBytes(24).toString('base64url');
  const store = join(dir, 's3');
  rmSync(store, { recursive: true, force: true });
  mkdirSync(store, { recursive: true });
  const proc = spawn(binary, ['--port', `127.0.0.1:${port}`, '--keep-alive', '--quiet', 'posix', store], {
    env: { ...process.env, ROOT_ACCESS_KEY_ID: key, ROOT_SECRET_ACCESS_KEY: secret },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: key, secretAccessKey: secret }, maxAttempts: 1 });
  for (let i = 0; ; i++) {
    try {
      await client.send(new ListBucketsCommand({}));
      break;
    } catch (e) {
      if (i > 300 || proc.exitCode !== null) throw new Error(`versitygw did not answer on ${endpoint}: ${(e as Error).message}`, { cause: e });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  client.destroy();
  return { proc, endpoint, key, secret };
}

const median = (runs: Run[]): Run => {
  const s = [...runs].sort((a, b) => a.seconds - b.seconds);
  return s[Math.floor((s.length - 1) / 2)]!;
};

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  mkdirSync(dir, { recursive: true });
  console.error(`generating ${(total / 1024 ** 3).toFixed(2)} GiB in ${data} ...`);
  const bytes = generate();
  const bundle = bundleCli(join(ROOT, 'node_modules/.cache/lifeboat-bench/cli.cjs'));
  const server = await startServer();
  try {
    s3env = {
      AWS_ACCESS_KEY_ID: server.key,
      AWS_SECRET_ACCESS_KEY: server.secret,
      AWS_ENDPOINT_URL: server.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      LIFEBOAT_PASSWORD: PASSWORD,
      LIFEBOAT_TO_PASSWORD: PASSWORD,
      RESTIC_PASSWORD: PASSWORD,
    };
    const lbS3 = `s3://${BUCKET}/lifeboat`;
    const rsS3 = `s3:${server.endpoint}/${BUCKET}/restic`;
    const lb = (...a: string[]) => timed(process.execPath, [bundle, 'repo', ...a]);
    const rs = (...a: string[]) => timed('restic', ['-r', rsS3, '--no-cache', ...a]);
    lb('init', '--repo', lbS3);
    rs('init');
    console.error('full backups to S3 ...');
    const lbFull = lb('backup', data, '--cluster', 'bench', '--as', 'logdirs/b1', '--repo', lbS3);
    const rsFull = rs('backup', '--compression', 'auto', 'data');

    console.error('restores from S3 ...');
    const want = treeHash(data);
    const outLb = join(dir, 'out-lifeboat');
    const outRs = join(dir, 'out-restic');
    const runs: Record<'lifeboat' | 'restic', Run[]> = { lifeboat: [], restic: [] };
    const identical = { lifeboat: false, restic: false };
    const restoreOnce = (t: 'lifeboat' | 'restic'): Run => {
      const out = t === 'lifeboat' ? outLb : outRs;
      rmSync(out, { recursive: true, force: true });
      return t === 'lifeboat'
        ? lb('restore-files', 'latest', '--target', out, '--include', 'logdirs/b1', '--strip', 'logdirs/b1', '--repo', lbS3)
        : rs('restore', 'latest', '--target', out);
    };
    // One restore of each first, not counted, restic's first, as in bench/repository.ts: the bench's first
    // restore after the backups used far more CPU than the same restore later.
    if (!values['no-warmup']) for (const t of ['restic', 'lifeboat'] as const) restoreOnce(t);
    for (let round = 0; round < rounds; round++) {
      for (const t of round % 2 ? (['restic', 'lifeboat'] as const) : (['lifeboat', 'restic'] as const)) {
        runs[t].push(restoreOnce(t));
        if (round === 0) identical[t] = treeHash(t === 'lifeboat' ? outLb : join(outRs, 'data')) === want;
      }
    }
    rmSync(outLb, { recursive: true, force: true });
    rmSync(outRs, { recursive: true, force: true });

    console.error('copy local -> S3 ...');
    const local = join(dir, 'local-repo');
    rmSync(local, { recursive: true, force: true });
    lb('init', '--repo', local);
    lb('backup', data, '--cluster', 'bench', '--as', 'logdirs/b1', '--repo', local);
    const packBytes = Number(execFileSync('du', ['-sb', join(local, 'data')]).toString().split('\t')[0]);
    const copyTo = `s3://${BUCKET}/copy`;
    lb('init', '--repo', copyTo);
    const copyRun = lb('copy', '--repo', local, '--to', copyTo);
    rmSync(local, { recursive: true, force: true });

    const MB = 1e6;
    const lbR = median(runs.lifeboat);
    const rsR = median(runs.restic);
    const r2 = (a: number, b: number) => (a / b).toFixed(2);
    const row = (name: string, full: Run, restore: Run, ok: boolean) =>
      `| ${name} | ${full.seconds.toFixed(1)} s (${(bytes / MB / full.seconds).toFixed(0)} MB/s), CPU ${full.cpu.toFixed(1)} s | ${restore.seconds.toFixed(1)} s (${(bytes / MB / restore.seconds).toFixed(0)} MB/s), CPU ${restore.cpu.toFixed(1)} s | ${Math.max(full.rssMB, ...runs[name as 'lifeboat' | 'restic'].map((r) => r.rssMB)).toFixed(0)} MB | ${ok ? 'yes' : 'NO'} |`;
    const section = `Reproduce: \`bash bench/install-peers.sh && npm run bench:s3 -- --gib ${values.gib}\` (bench/s3.ts; it builds or reuses the lab's versitygw ${VERSITYGW_VERSION} and runs it itself, no lab needed).

Data set: the repository bench's (${(bytes / 1024 ** 3).toFixed(2)} GiB, ${PARTITIONS} partition directories of 64 MiB Kafka-like segments and their index files).
Server: versitygw ${VERSITYGW_VERSION} (posix backend on local disk, loopback, keep-alive), one bucket; Lifeboat at s3://${BUCKET}/lifeboat, restic
${execFileSync('restic', ['version']).toString().split(' ')[1]} at s3:…/${BUCKET}/restic (\`--compression auto\`, \`--no-cache\`), both from their CLIs (Lifeboat bundled by esbuild, run by node);
\`sync\` before each timed step${prefaultBytes ? `, then ${(prefaultBytes / 1e9).toFixed(1)} GB written to a file and deleted, so no tool pays this VM's ~2.3 s per GB for memory it gives back and takes again (bench/timing.ts; \`--no-prefault\` measures without)` : ' (`--no-prefault`: a tool may pay this VM\'s ~2.3 s per GB for memory freed just before it, see bench/timing.ts)'}.
Machine: ${cpus().length} CPU cores, shared with other work (load average at the end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(', ')}): quote the ratios, and the CPU times (user + system, all threads) over the wall times.

| tool | full backup to S3 | restore from S3 (latest${rounds > 1 ? `, median of ${rounds}, alternating` : ''}) | peak RSS | restore identical |
| --- | --- | --- | --- | --- |
${row('lifeboat', lbFull, lbR, identical.lifeboat)}
${row('restic', rsFull, rsR, identical.restic)}

Ratios, Lifeboat vs restic on the same server: full backup throughput **${r2(rsFull.seconds, lbFull.seconds)}x** (CPU ${r2(rsFull.cpu, lbFull.cpu)}x less),
restore throughput **${r2(rsR.seconds, lbR.seconds)}x** (CPU ${r2(rsR.cpu, lbR.cpu)}x less). Restore runs${values['no-warmup'] ? '' : ' (after one uncounted restore of each, restic first)'}: Lifeboat ${runs.lifeboat.map((r) => r.seconds.toFixed(1)).join(', ')} s;
restic ${runs.restic.map((r) => r.seconds.toFixed(1)).join(', ')} s (per-round ratios ${runs.lifeboat.map((r, i) => (runs.restic[i]!.seconds / r.seconds).toFixed(2)).join(', ')}, their median **${medianOf(runs.lifeboat.map((r, i) => runs.restic[i]!.seconds / r.seconds)).toFixed(2)}x**: the ratio above is of the two medians).
Copy of a local repository holding one full backup (${(packBytes / MB).toFixed(0)} MB of packs) to S3 (\`lifeboat repo copy --to s3://…\`):
${copyRun.seconds.toFixed(1)} s, **${(packBytes / MB / copyRun.seconds).toFixed(0)} MB/s** (CPU ${copyRun.cpu.toFixed(1)} s). Measured ${new Date().toISOString().slice(0, 10)}.
`;
    console.log(section);
    if (!values['no-write']) writeSection(section);
  } finally {
    server.proc.kill('SIGTERM');
  }
}

const BEGIN = '<!-- s3-bench:begin -->';
const END = '<!-- s3-bench:end -->';

/** Replaces the S3 benchmark block of docs/benchmarks.md (after the "## Repository" section's block). */
function writeSection(section: string): void {
  const file = join(ROOT, 'docs/benchmarks.md');
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  if (!doc.includes(BEGIN)) {
    const heading = `### Repository on S3\n\n${BEGIN}\n${END}\n\n`;
    const at = doc.indexOf('## Kafka topic data');
    doc = at >= 0 ? `${doc.slice(0, at)}${heading}${doc.slice(at)}` : `${doc.trimEnd()}\n\n${heading}`;
  }
  const a = doc.indexOf(BEGIN) + BEGIN.length;
  const b = doc.indexOf(END);
  writeFileSync(file, `${doc.slice(0, a)}\n${section}${doc.slice(b)}`);
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
