/**
 * A scavenge of V8's young generation every so many bytes of work. A backup's chunks leave dead
 * buffers whose memory is outside V8's heap (zstd's output, the cipher's); V8 collects them only
 * once tens of MB of such memory have piled up, which is most of a backup's peak RSS beyond its
 * modules. A minor GC of the main thread's small heap takes well under a millisecond. `gc` is
 * V8's own extension, reached through a new context once the flag is set; where that is not
 * possible the returned function does nothing. (The restore workers do the same in their own
 * source: src/repository/restorePool.ts.)
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: ((o: { type: 'minor' }) => void) | null | undefined;

function minorGc(): ((o: { type: 'minor' }) => void) | null {
  if (gc !== undefined) return gc;
  try {
    setFlagsFromString('--expose-gc');
    const g = runInNewContext('gc') as unknown;
    gc = typeof g === 'function' ? (g as (o: { type: 'minor' }) => void) : null;
  } catch {
    gc = null;
  }
  return gc;
}

/** A counter that runs a minor GC each time `every` bytes have been added to it. */
export function minorGcEvery(every: number): (bytes: number) => void {
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < every) return;
    since = 0;
    minorGc()?.({ type: 'minor' });
  };
}
