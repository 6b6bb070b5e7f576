/**
 * A service that keeps its instance registered, as Curator's ServiceDiscovery with a watch on its
 * node does: an ephemeral node held by the service's own session, created again whenever it is
 * gone (once its parent is back). `registrations` counts its creates.
 */
import { connectZk, create, CreateMode, exists, ACL, Id, Permission } from '../../src/zookeeper/client';

const OPEN = [new ACL(Permission.ALL, new Id('world', 'anyone'))];

export interface LiveInstance {
  registrations(): number;
  close(): Promise<void>;
}

export async function liveInstance(connect: string, path: string, data: Buffer | null, everyMs = 200): Promise<LiveInstance> {
  const zk = await connectZk(connect);
  const parent = path.slice(0, path.lastIndexOf('/')) || '/';
  let count = 0;
  let busy = false;
  const register = async () => {
    if (busy) return;
    busy = true;
    try {
      if (!(await exists(zk, path)) && (await exists(zk, parent))) {
        await create(zk, path, data, OPEN, CreateMode.EPHEMERAL);
        count++;
      }
    } catch {
      // The parent went again, or another create won: the next round looks again.
    } finally {
      busy = false;
    }
  };
  await register();
  if (count === 0) throw new Error(`could not register ${path} (is ${parent} there?)`);
  const timer = setInterval(() => void register(), everyMs);
  return {
    registrations: () => count,
    close: async () => {
      clearInterval(timer);
      zk.close();
    },
  };
}
