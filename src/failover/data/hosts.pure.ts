/** Which brokers of a spec run on which host (pure: the workflow plans its host activities with it). */
export function brokersByHost(spec: { brokers: { id: number; host: string }[] }): { host: string; brokerIds: number[] }[] {
  const out = new Map<string, number[]>();
  for (const b of spec.brokers) out.set(b.host, [...(out.get(b.host) ?? []), b.id]);
  return [...out].map(([host, brokerIds]) => ({ host, brokerIds: brokerIds.sort((a, b) => a - b) }));
}
