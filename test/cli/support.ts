/** Helpers of the CLI tests: a port nobody listens on, and the CLI run with extra environment. */
import { createServer, type AddressInfo } from 'node:net';

/** A port on loopback that nobody listens on (taken from the OS, then closed). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export { lifeboatWith } from '../support/cli';
