/** failback — (being built this session) */
export async function failback(_input: unknown): Promise<void> {
  throw new Error('failback: not built yet');
}
