/**
 * The demo's service registry (Curator layout, the second seed document): services register
 * ephemeral instances through a session of their own, die with the disaster, and register again
 * once ZooKeeper's service nodes are back.
 */
import { randomUUID } from 'node:crypto';
import { curatorInstanceJson } from '../registry/layouts';
import { ACL, connectZk, create, CreateMode, exists, Id, Permission, type ZkClient } from '../zookeeper/client';
import { getChildren, remove, ZkError } from '../zookeeper/client';

export const DEMO_REGISTRY_ROOT = '/lifeboat-demo/services';
const SERVICES = [
  { name: 'order-service', instances: 3, port: 8080 },
  { name: 'payment-service', instances: 2, port: 8081 },
];
const OPEN = [new ACL(Permission.ALL, new Id('world', 'anyone'))];

async function mkdirs(zk: ZkClient, path: string): Promise<void> {
  let at = '';
  for (const part of path.split('/').filter(Boolean)) {
    at += `/${part}`;
    if (!(await exists(zk, at))) await create(zk, at, null, OPEN).catch((e) => {
      if (!(e instanceof ZkError && e.code === 'NODE_EXISTS')) throw e;
    });
  }
}

export async function deleteTree(zk: ZkClient, path: string): Promise<void> {
  const kids = await getChildren(zk, path).catch(() => [] as string[]);
  for (const k of kids) await deleteTree(zk, `${path}/${k}`);
  await remove(zk, path).catch(() => {});
}

/** Registers every demo instance (ephemeral) in a new session, which stands for the running services. */
export async function registerDemoServices(connect: string): Promise<{ session: ZkClient; instances: number }> {
  const zk = await connectZk(connect);
  let n = 0;
  for (const s of SERVICES) {
    await mkdirs(zk, `${DEMO_REGISTRY_ROOT}/${s.name}`);
    for (let i = 0; i < s.instances; i++) {
      const id = randomUUID();
      const data = curatorInstanceJson({ name: s.name, id, address: `10.0.0.${10 + i}`, port: s.port, payload: { zone: `zone-${i % 2}` } });
      await create(zk, `${DEMO_REGISTRY_ROOT}/${s.name}/${id}`, data, OPEN, CreateMode.EPHEMERAL);
      n++;
    }
  }
  return { session: zk, instances: n };
}

/** Before seeding: nothing left from an earlier demo run. */
export async function clearDemoRegistry(connect: string): Promise<void> {
  const zk = await connectZk(connect);
  try {
    await deleteTree(zk, '/lifeboat-demo');
  } finally {
    zk.close();
  }
}
