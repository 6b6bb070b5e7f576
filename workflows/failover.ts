/** failover — (being built this session) */
import type { FailoverInput } from '../src/failover/types';

export async function failover(_input: FailoverInput): Promise<void> {
  throw new Error('failover: not built yet');
}
