/**
 * `zk --auth-file` / `--auth-env`: ZooKeeper credentials the process list does not show (as
 * `--auth user:password` does), against the lab's real ZooKeeper on a scratch root.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/errors';
import { ACL, Id, Permission, type ZkClient } from '../../src/zookeeper/client';
import { digestId } from '../../src/zookeeper/restore';
import { readExportFile } from '../../src/zookeeper/storage';
import { lifeboat } from '../support/cli';
import { deleteTree, mk, newScratchRoot, session, ZK } from './scratch';

const CAROL = 'carol:carol-secret';
const root = newScratchRoot();
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-zkauth-'));
let zk: ZkClient;

beforeAll(async () => {
  zk = await session([CAROL]);
  await mk(zk, root);
  await mk(zk, `${root}/tree`, 'open');
  // Only carol may read it: an export without her credentials fails with NO_AUTH.
  await mk(zk, `${root}/tree/secret`, 'carol only', [new ACL(Permission.ALL, new Id('digest', digestId(CAROL)))]);
});

afterAll(async () => {
  await deleteTree(zk, root);
  zk?.close();
  rmSync(dir, { recursive: true, force: true });
});

const secretData = (file: string) => {
  const node = readExportFile(file).nodes.find((n) => n.path === '/secret');
  return node?.data === null || node === undefined ? undefined : Buffer.from(node.data, 'base64').toString();
};

describe('zk credentials from a file or the environment', () => {
  it('without credentials the digest-protected node cannot be read', async () => {
    const r = await lifeboat('zk', 'export', '--zk', ZK, '--root', `${root}/tree`, '--out', join(dir, 'none.jsonl'));
    expect(r.code, r.stderr).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(/NO_AUTH/);
  });

  it('--auth-file holding scheme:credentials', async () => {
    const auth = join(dir, 'zk-auth');
    writeFileSync(auth, `digest:${CAROL}\n`, { mode: 0o600 });
    const out = join(dir, 'file.jsonl');
    const r = await lifeboat('zk', 'export', '--zk', ZK, '--root', `${root}/tree`, '--out', out, '--auth-file', auth);
    expect(r.code, r.stderr).toBe(EXIT.OK);
    expect(secretData(out)).toBe('carol only');
  });

  it('--auth-env naming a variable that holds scheme:credentials', async () => {
    process.env.LIFEBOAT_TEST_ZK_AUTH = `digest:${CAROL}`;
    try {
      const out = join(dir, 'env.jsonl');
      const r = await lifeboat('zk', 'export', '--zk', ZK, '--root', `${root}/tree`, '--out', out, '--auth-env', 'LIFEBOAT_TEST_ZK_AUTH');
      expect(r.code, r.stderr).toBe(EXIT.OK);
      expect(secretData(out)).toBe('carol only');
    } finally {
      delete process.env.LIFEBOAT_TEST_ZK_AUTH;
    }
  });

  it('refuses, in one line that does not echo the secret, a file without a scheme, a missing file and an unset variable', async () => {
    const bad = join(dir, 'no-scheme');
    writeFileSync(bad, `${CAROL}\n`, { mode: 0o600 });
    const noScheme = await lifeboat('zk', 'export', '--zk', ZK, '--root', `${root}/tree`, '--out', join(dir, 'x.jsonl'), '--auth-file', bad);
    expect(noScheme.code).toBe(EXIT.USAGE);
    expect(noScheme.stderr.trim().split('\n')).toHaveLength(1);
    expect(noScheme.stderr).toContain(`--auth-file ${bad} must hold scheme:credentials, such as digest:user:password (schemes: digest, sasl, x509, ip, key)`);
    expect(noScheme.stderr).not.toContain('carol-secret');

    const missing = await lifeboat('zk', 'export', '--zk', ZK, '--root', `${root}/tree`, '--out', join(dir, 'x.jsonl'), '--auth-file', join(dir, 'nope'));
    expect(missing.code).toBe(EXIT.USAGE);
    expect(missing.stderr).toContain(`--auth-file ${join(dir, 'nope')}: cannot read it (ENOENT)`);

    const unset = await lifeboat('zk', 'export', '--zk', ZK, '--root', `${root}/tree`, '--out', join(dir, 'x.jsonl'), '--auth-env', 'LIFEBOAT_TEST_UNSET_ZK_AUTH');
    expect(unset.code).toBe(EXIT.USAGE);
    expect(unset.stderr).toContain('--auth-env LIFEBOAT_TEST_UNSET_ZK_AUTH: LIFEBOAT_TEST_UNSET_ZK_AUTH is not set');
  });
});
