import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const ROOT = resolve(__dirname, '../..');
function lifeboat(args: string[]) {
  const r = spawnSync(join(ROOT, 'bin/lifeboat'), ['repo', ...args], { env: { ...process.env, LIFEBOAT_PASSWORD: 'pw' }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('lifeboat repo forget and backup sets', () => {
  it('leaves snapshots of backup sets to `backup forget` (which judges sets by what they restore) and applies the policy to the others', () => {
    const base = tempDir('forget-sets');
    const repo = join(base, 'repo');
    const src = join(base, 'src');
    mkdirSync(src, { recursive: true });
    expect(lifeboat(['init', '--repo', repo]).code).toBe(0);
    const backup = (content: string, tags: string[]) => {
      writeFileSync(join(src, 'f'), content);
      const r = lifeboat(['backup', src, '--repo', repo, '--cluster', 'prod', '--as', 'configs/b1', '--force', '--json', ...tags.flatMap((t) => ['--tag', t])]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { id: string }).id;
    };
    // The only full set's part, then a newer narrow set's part, then two loose snapshots.
    const full = backup('a', ['set:s1', 'part:configs:1', 'tier:daily']);
    const narrow = backup('b', ['set:s2', 'part:configs:1', 'tier:daily']);
    const loose1 = backup('c', []);
    const loose2 = backup('d', []);

    const dry = lifeboat(['forget', '--repo', repo, '--keep-last', '1', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as { keep: { id: string; reasons: string[] }[]; remove: { id: string }[] };
    expect(plan.remove.map((r) => r.id)).toEqual([loose1]);
    const kept = new Map(plan.keep.map((k) => [k.id, k.reasons.join(', ')]));
    expect([...kept.keys()].sort()).toEqual([full, narrow, loose2].sort());
    expect(kept.get(full)).toContain('backup set s1');

    expect(lifeboat(['forget', '--repo', repo, '--keep-last', '1']).code).toBe(0);
    const left = JSON.parse(lifeboat(['snapshots', '--repo', repo, '--json']).stdout) as { id: string }[];
    expect(left.map((s) => s.id).sort()).toEqual([full, narrow, loose2].sort());
  }, 120_000);
});
