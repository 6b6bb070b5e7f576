/**
 * Verification against what the backup measured: the newest records of every partition must come
 * back bit for bit (content fingerprints), and the recovered cluster must move data at a rate
 * comparable to the backup-time probe's (a broker on a wrong disk, throttles left on).
 */
import type { BackupSet, Baseline } from '../backup/parts';
import { BASELINE_PATH } from '../backup/parts';
import type { ClusterSpec } from '../config/spec';
import { reachableKafka } from '../kafka/admin';
import { compareFingerprints, fingerprintRanges } from '../kafka/fingerprint';
import { throughputProbe } from '../kafka/probe';
import type { RecoveryCheck } from './steps';
import { withRepo } from './steps';

export async function verifyBaseline(spec: ClusterSpec, set: BackupSet, onProgress?: (topic: string) => void): Promise<{ checks: RecoveryCheck[]; problems: string[] }> {
  const snap = set.snapshots.baseline;
  if (!snap) return { checks: [], problems: [] };
  const baseline = await withRepo(spec, async (repo) => (await repo.openSnapshot(snap.id)).readJson<Baseline>(BASELINE_PATH));
  const kafka = await reachableKafka(spec, 'verify');
  const ranges = Object.fromEntries(
    Object.entries(baseline.fingerprints).map(([t, parts]) => [t, Object.fromEntries(Object.entries(parts).map(([p, f]) => [p, { from: f.from, to: f.to }]))]),
  );
  const actual = await fingerprintRanges(kafka, ranges, onProgress);
  const bad = compareFingerprints(baseline.fingerprints, actual);
  const total = Object.values(baseline.fingerprints).reduce((n, t) => n + Object.keys(t).length, 0);
  const records = Object.values(baseline.fingerprints).reduce((n, t) => n + Object.values(t).reduce((m, f) => m + f.records, 0), 0);
  // Throughput right after a restart is noisy (cold caches, JIT) and reading 5 MB back takes a few
  // milliseconds, so the verdict rests on produce (acks=all) throughput: below half the backup-time
  // rate is reported as a problem, below a tenth (a throttle left on, a broker on a failing disk) fails.
  const base = baseline.throughput;
  const now = await throughputProbe(kafka, { records: base.records, recordBytes: Math.round(base.bytes / Math.max(1, base.records)) });
  const ratio = now.produceMBps / Math.max(0.1, base.produceMBps);
  const slow = ratio < 0.5 ? [`produce throughput at ${Math.round(ratio * 100)}% of the backup-time rate (${now.produceMBps} vs ${base.produceMBps} MB/s)`] : [];
  return {
    checks: [
      { subject: `newest records identical (${records} records, SHA-256 per partition)`, expected: total, actual: total - bad.length, ok: bad.length === 0 },
      {
        subject: 'throughput vs the backup-time probe (produce / consume MB/s)',
        expected: `${base.produceMBps} / ${base.consumeMBps}`,
        actual: `${now.produceMBps} / ${now.consumeMBps} (produce ${Math.round(ratio * 100)}%)`,
        ok: ratio >= 0.1,
      },
    ],
    problems: [...bad.slice(0, 20).map((b) => `data differs from the backup: ${b}`), ...slow],
  };
}
