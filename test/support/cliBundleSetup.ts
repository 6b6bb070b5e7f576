/** Global setup of both test projects: builds the CLI bundles the tests' `lifeboat` calls run (cliBundle.ts). */
import { buildCliBundles } from './cliBundle';

export default function setup(): void {
  buildCliBundles();
}
