/**
 * Verification against what the backup measured: the newest records of every partition must come
 * back bit for bit (content fingerprints), and the recovered cluster must move data at no less
 * than half the rate the backup-time probe measured (a broker on a wrong disk, throttles left on).
 */
import type { BackupSet, Baseline } from '../backup/parts';
import { BASELINE_PATH } from '../backup/parts';
import type { ClusterSpec } from '../config/spec';
import { reachableKafka } from '../kafka/admin';
import { compareFingerprints, fingerprintRanges } from '../kafka/fingerprint';
import { produceConsumeProbe } from '../kafka/probe';
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
  const probe = await produceConsumeProbe(kafka, { records: baseline.throughput.records || 2000 });
  const rate = Math.round((probe.consumed * 1000) / Math.max(1, probe.roundTripMs));
  const floor = Math.round(baseline.throughput.recordsPerSecond / 2);
  return {
    checks: [
      { subject: `newest records identical (${records} records, SHA-256 per partition)`, expected: total, actual: total - bad.length, ok: bad.length === 0 },
      { subject: 'probe throughput, records/s (at least half the backup-time rate)', expected: `≥ ${floor}`, actual: rate, ok: probe.ok && rate >= floor },
    ],
    problems: bad.slice(0, 20),
  };
}
