/**
 * Runs `fn` over `items`, at most `limit` at once, starting them in order. After the first failure
 * no further item starts, the running ones finish (they can poll `stopped()` to end early), and the
 * first failure is thrown: the one that caused the others to stop.
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T, stopped: () => boolean) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const stopped = () => failure !== undefined;
  const lane = async () => {
    while (next < items.length && !failure) {
      const item = items[next++]!;
      try {
        await fn(item, stopped);
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, lane));
  if (failure) throw failure.error;
}
