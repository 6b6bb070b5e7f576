/** `key list|add|remove`: several passwords can open one repository (each wraps the same master key). */
import { LifeboatError } from '../errors';
import { DEFAULT_SCRYPT, type ScryptParams } from './crypto';
import type { KeyFile } from './format';
import { makeKeyFile, type LocalRepository } from './repo';

export interface KeyInfo {
  id: string;
  created: string;
  hostname: string;
  username: string;
  current: boolean;
}

export async function listKeys(repo: LocalRepository): Promise<KeyInfo[]> {
  const out: KeyInfo[] = [];
  for (const { name } of await repo.backend.list('keys')) {
    const kf = JSON.parse((await repo.backend.read('keys', name)).toString('utf8')) as KeyFile;
    out.push({ id: name, created: kf.created, hostname: kf.hostname, username: kf.username, current: name === repo.keyName });
  }
  return out.sort((a, b) => a.created.localeCompare(b.created));
}

export async function addKey(repo: LocalRepository, password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  if (!password) throw new LifeboatError('InvalidInput', 'an empty password is not allowed');
  const kf = await makeKeyFile(repo.key, password, params);
  await repo.backend.write('keys', kf.name, kf.body);
  return kf.name;
}

export async function removeKey(repo: LocalRepository, ref: string): Promise<string> {
  const keys = await listKeys(repo);
  const hits = keys.filter((k) => k.id.startsWith(ref));
  if (ref.length < 4 || hits.length === 0) throw new LifeboatError('InvalidInput', `no key ${ref} in ${repo.path} (see 'lifeboat repo key list')`);
  if (hits.length > 1) throw new LifeboatError('InvalidInput', `key prefix ${ref} is ambiguous`);
  const k = hits[0]!;
  if (k.current) throw new LifeboatError('InvalidInput', `refusing to remove key ${k.id.slice(0, 12)}: it is the one this password opened (use another password to remove it)`);
  return repo.exclusive('key remove', async () => {
    await repo.backend.remove('keys', k.id);
    return k.id;
  });
}
