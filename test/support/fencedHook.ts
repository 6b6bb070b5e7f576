/**
 * A client-switch hook (command) for tests: run as the hooks switch clients to `cluster`, it fails
 * (exit 3, the ACLs on stderr) while `topic` still carries a DENY WRITE for User:* there, i.e. while
 * the switched clients could not write. Usage: tsx test/support/fencedHook.ts primary|standby <topic>
 */
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } from 'kafkajs';
import { withAdmin } from '../../src/kafka/admin';
import { kafkaFor } from '../../src/kafka/client';
import { primarySpec, standbySpec } from './lab';

async function main(): Promise<number> {
  const [cluster, topic] = process.argv.slice(2);
  if ((cluster !== 'primary' && cluster !== 'standby') || !topic) {
    console.error('usage: fencedHook.ts primary|standby <topic>');
    return 2;
  }
  const spec = cluster === 'primary' ? primarySpec() : standbySpec();
  const r = await withAdmin(kafkaFor(spec, 'fenced-hook'), spec.name, (a) =>
    a.describeAcls({ resourceType: AclResourceTypes.TOPIC, resourceName: topic, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }),
  );
  const deny = r.resources.flatMap((x) => x.acls).filter((a) => a.principal === 'User:*' && a.operation === AclOperationTypes.WRITE && a.permissionType === AclPermissionTypes.DENY);
  if (deny.length) {
    console.error(`${topic} on ${spec.name} is still fenced (DENY WRITE User:*): the switched clients cannot write`);
    return 3;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error((e as Error).message);
    process.exit(1);
  },
);
