/**
 * The demo's service registry (Curator layout, the second seed document): services register
 * ephemeral instances through a session of their own, die with the disaster, and register again
 * once ZooKeeper's service nodes are back.
 */
import { randomUUID } from 'node:crypto';
import { curatorInstanceJson } from '../src/registry/layouts';
import { ACL, connectZk, create, CreateMode, Id, Permission, type ZkClient } from '../src/zookeeper/client';
import { deleteTree } from './disaster';

export const DEMO_REGISTRY_ROOT = '/lifeboat-demo/services';
const SERVICES = [
  { name: 'order-service', instances: 3, port: 8080 },
  { name: 'payment-service', instances: 2, port: 8081 },
];
const OPEN = [new ACL(Permission.ALL, new Id('world', 'anyone'))];

/** Registers every demo instance (ephemeral) in a new session, which stands for the running services. */
export async function registerDemoServices(connect: string): Promise<{ session: ZkClient; instances: number }> {
  const zk = await connectZk(connect);
  let n = 0;
  for (const s of SERVICES) {
    await new Promise<void>((resolve, reject) => zk.mkdirp(`${DEMO_REGISTRY_ROOT}/${s.name}`, (err) => (err ? reject(err) : resolve())));
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
