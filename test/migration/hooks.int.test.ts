/**
 * Client-switch hooks against the lab's ZooKeeper and real files and programs: each does what it
 * says, a dry run changes no byte (file and znode), a failing hook is one HookFailed line naming it,
 * and revert puts back exactly what was there.
 */
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ClientSwitchHook, type ClusterSpec, clientSwitchHookSchema } from '../../src/config/spec';
import { EXIT } from '../../src/errors';
import { revertSwitchHooks, runSwitchHooks } from '../../src/migration';
import { create, exists, getData, remove } from '../../src/zookeeper/client';
import { OPEN } from '../zookeeper/scratch';
import { withZkSession } from '../../src/zookeeper/errors';
import { nextSpec, primarySpec, unique } from '../support/lab';

const source: ClusterSpec = primarySpec();
const target: ClusterSpec = nextSpec(); // KRaft: no ZooKeeper of its own, so registry nodes go to the source's ensemble
const ctx = { source, target };
const zkConnect = source.zookeeper!.connect;
const bootstrap = target.kafka.bootstrapServers.join(',');
const root = `/${unique('md-hooks')}`;
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-hooks-'));
const hook = (h: unknown): ClientSwitchHook => clientSwitchHookSchema.parse(h);

const zk = <T>(fn: Parameters<typeof withZkSession<T>>[2]) => withZkSession(zkConnect, {}, fn);
const znode = (path: string) => zk(async (c) => ((await exists(c, path)) ? (await getData(c, path)).data : undefined));

afterAll(async () => {
  await zk(async (c) => {
    for (const p of [`${root}/app/kafka`, `${root}/app`, `${root}/existing`, root]) if (await exists(c, p)) await remove(c, p);
  });
});

const PROPS = '# the app\r\nclient.id = shop\r\nbootstrap.servers = old-1:9092,\\\r\n    old-2:9092\r\n! a note\r\nacks=all\r\n\u00e9t\u00e9=\u00ff\r\n';

describe('client-switch hooks', () => {
  it('registry node, bootstrap file and command: dry run changes nothing, run switches, revert puts back exactly what was there', async () => {
    const existing = Buffer.from([0xff, 0x00, 0x81, 0x41]); // binary: not UTF-8
    await zk((c) => create(c, root, null, OPEN).then(() => create(c, `${root}/existing`, existing, OPEN)));
    const file = join(dir, 'app.properties');
    writeFileSync(file, Buffer.from(PROPS, 'latin1'));
    chmodSync(file, 0o640);
    const bytes = readFileSync(file);
    const envOut = join(dir, 'env.txt');
    const hooks = [
      hook({ type: 'registry-node', path: `${root}/app/kafka` }), // missing, parents too
      hook({ type: 'registry-node', path: `${root}/existing`, value: 'kafka://${bootstrap}' }),
      hook({ type: 'bootstrap-file', path: file }),
      // No shell: "$HOME" reaches the program as it is written.
      hook({ type: 'command', command: [process.execPath, '-e', `require('fs').appendFileSync(${JSON.stringify(envOut)}, [process.env.LIFEBOAT_BOOTSTRAP, process.env.LIFEBOAT_SOURCE, process.env.LIFEBOAT_TARGET, process.env.LIFEBOAT_DRY_RUN, process.env.LIFEBOAT_REVERT, process.argv[1]].join(' ') + '\\n')`, '$HOME'] }),
    ];

    const dry = await runSwitchHooks(hooks, ctx, { dryRun: true });
    expect(dry.map((o) => [o.ok, o.dryRun, o.changed])).toEqual([[true, true, false], [true, true, false], [true, true, false], [true, true, false]]);
    expect(dry[0]!.detail).toBe(`would set ${root}/app/kafka on primary's ZooKeeper ${zkConnect} from missing to "${bootstrap}"`);
    expect(dry[2]!.detail).toBe(`would set bootstrap.servers in ${file} from "old-1:9092,old-2:9092" to ${bootstrap}`);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(await znode(`${root}/app/kafka`)).toBeUndefined();
    expect(await znode(`${root}/app`)).toBeUndefined();
    expect((await znode(`${root}/existing`))!.equals(existing)).toBe(true);
    expect(readFileSync(envOut, 'utf8')).toBe(`${bootstrap} primary next 1 0 $HOME\n`);

    const done = await runSwitchHooks(hooks, ctx);
    expect(done.map((o) => [o.ok, o.changed])).toEqual([[true, true], [true, true], [true, true], [true, true]]);
    expect((await znode(`${root}/app/kafka`))!.toString()).toBe(bootstrap);
    expect((await znode(`${root}/existing`))!.toString()).toBe(`kafka://${bootstrap}`);
    expect(done[0]!.previous).toBeNull();
    expect(done[0]!.created).toEqual([`${root}/app`, `${root}/app/kafka`]);
    // Only the bootstrap.servers logical line changed (its continuation too); CRLF, comments, latin1 bytes kept.
    expect(readFileSync(file).toString('latin1')).toBe(`# the app\r\nclient.id = shop\r\nbootstrap.servers=${bootstrap}\r\n! a note\r\nacks=all\r\n\u00e9t\u00e9=\u00ff\r\n`);
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readFileSync(envOut, 'utf8').split('\n')[1]).toBe(`${bootstrap} primary next 0 0 $HOME`);

    // Run again: nothing left to change for the node and the file.
    const again = await runSwitchHooks(hooks, ctx);
    expect(again.slice(0, 3).map((o) => o.changed)).toEqual([false, false, false]);

    const reverted = await revertSwitchHooks(hooks, done, ctx);
    expect(reverted.map((o) => [o.ok, o.reverted])).toEqual([[true, true], [true, true], [true, true], [true, true]]);
    expect(await znode(`${root}/app/kafka`)).toBeUndefined();
    expect(await znode(`${root}/app`)).toBeUndefined();
    expect((await znode(`${root}/existing`))!.equals(existing)).toBe(true);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(readFileSync(envOut, 'utf8').split('\n')[3]).toBe(`${bootstrap} primary next 0 1 $HOME`);
  }, 60_000);

  it('a failing hook stops the run with one HookFailed line naming it and what its stderr said; what ran before can be reverted', async () => {
    const file = join(dir, 'b.properties');
    writeFileSync(file, 'bootstrap.servers=old:9092\n');
    const hooks = [
      hook({ type: 'bootstrap-file', path: file }),
      hook({ type: 'command', command: ['echo "moving clients" && echo "no route to the registry" >&2 && exit 3'], shell: true }),
      hook({ type: 'bootstrap-file', path: join(dir, 'never.properties') }),
    ];
    const err = await runSwitchHooks(hooks, ctx).then(
      () => undefined,
      (e: unknown) => e as { type: string; exitCode: number; message: string; details: { index: number; outcomes: { ok: boolean; changed?: boolean }[] } },
    );
    expect(err?.type).toBe('HookFailed');
    expect(err?.exitCode).toBe(EXIT.HOOK_FAILED);
    expect(err?.message).toBe('client-switch hook 2 (command "echo \\"moving clients\\" && echo \\"no route to the registry\\" >&2 && exit 3") failed: exit 3; stderr: no route to the registry');
    expect(err?.details.index).toBe(1);
    expect(err?.details.outcomes.map((o) => [o.ok, o.changed])).toEqual([[true, true], [false, true]]);
    expect(readFileSync(file, 'utf8')).toBe(`bootstrap.servers=${bootstrap}\n`);
    const back = await revertSwitchHooks(hooks, err!.details.outcomes as never, ctx);
    // The failed command is run again with LIFEBOAT_REVERT=1 (it may have done part of its work) and fails the same way.
    expect(back.map((o) => o.ok)).toEqual([true, false]);
    expect(back[1]!.detail).toMatch(/^LIFEBOAT_REVERT=1 run: exit 3/);
    expect(readFileSync(file, 'utf8')).toBe('bootstrap.servers=old:9092\n');

    // A missing file and a timeout are one line too.
    await expect(runSwitchHooks([hook({ type: 'bootstrap-file', path: join(dir, 'missing.properties') })], ctx)).rejects.toMatchObject({
      type: 'HookFailed',
      message: `client-switch hook 1 (bootstrap.servers in ${join(dir, 'missing.properties')}) failed: ${join(dir, 'missing.properties')} does not exist`,
    });
    const t0 = Date.now();
    await expect(runSwitchHooks([hook({ type: 'command', command: ['sleep', '30'], timeoutSeconds: 1 })], ctx)).rejects.toMatchObject({
      type: 'HookFailed',
      message: 'client-switch hook 1 (command sleep 30) failed: timed out after 1 s',
    });
    expect(Date.now() - t0).toBeLessThan(5_000);
  }, 60_000);
});
