import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lifeboatWith } from '../support/cli';
import { tempDir } from './helpers';

const lifeboat = (args: string[]) => lifeboatWith({ LIFEBOAT_PASSWORD: 'pw' }, 'repo', ...args);

describe('lifeboat repo forget and backup sets', () => {
  it('leaves snapshots of backup sets to `backup forget` (which judges sets by what they restore) and applies the policy to the others', async () => {
    const base = tempDir('forget-sets');
    const repo = join(base, 'repo');
    const src = join(base, 'src');
    mkdirSync(src, { recursive: true });
    expect((await lifeboat(['init', '--repo', repo])).code).toBe(0);
    const backup = async (content: string, tags: string[]) => {
      writeFileSync(join(src, 'f'), content);
      const r = await lifeboat(['backup', src, '--repo', repo, '--cluster', 'prod', '--as', 'configs/b1', '--force', '--json', ...tags.flatMap((t) => ['--tag', t])]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { id: string }).id;
    };
    // The only full set's part, then a newer narrow set's part, then two loose snapshots.
    const full = await backup('a', ['set:s1', 'part:configs:1', 'tier:daily']);
    const narrow = await backup('b', ['set:s2', 'part:configs:1', 'tier:daily']);
    const loose1 = await backup('c', []);
    const loose2 = await backup('d', []);

    const dry = await lifeboat(['forget', '--repo', repo, '--keep-last', '1', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as { keep: { id: string; reasons: string[] }[]; remove: { id: string }[] };
    expect(plan.remove.map((r) => r.id)).toEqual([loose1]);
    const kept = new Map(plan.keep.map((k) => [k.id, k.reasons.join(', ')]));
    expect([...kept.keys()].sort()).toEqual([full, narrow, loose2].sort());
    expect(kept.get(full)).toContain('backup set s1');

    expect((await lifeboat(['forget', '--repo', repo, '--keep-last', '1'])).code).toBe(0);
    const left = JSON.parse((await lifeboat(['snapshots', '--repo', repo, '--json'])).stdout) as { id: string }[];
    expect(left.map((s) => s.id).sort()).toEqual([full, narrow, loose2].sort());
  }, 120_000);
});
