/** registrySync — (being built this session) */
export async function registrySync(_input: unknown): Promise<void> {
  throw new Error('registrySync: not built yet');
}
