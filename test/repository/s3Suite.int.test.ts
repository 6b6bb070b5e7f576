/**
 * Repository tests of the unit project that only use the repository's API, run again with every
 * `tempRepo` on the lab's S3 server (a fresh prefix each): snapshots written and read back, fixed
 * cuts, keys added and removed, forget and prune, a restore target refused (the CLI reading S3), a
 * blob read in place of another refused (format 2's ids in the seal, on the ranged-GET restore).
 * Re-opening by `repo.path` (an s3:// URL) takes the credentials from the AWS_* variables, set here
 * to the lab's.
 */
import { afterAll } from 'vitest';
import { cleanS3, S3_ENDPOINT, s3Credentials, s3Location } from '../support/s3';
import { tempReposOn } from './helpers';

const creds = s3Credentials();
const vars = { AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, AWS_ENDPOINT_URL: S3_ENDPOINT };
const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
Object.assign(process.env, vars);
tempReposOn(() => s3Location());
afterAll(async () => {
  // Integration files share one process: leave its environment as it was.
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  await cleanS3();
});

await import('./saveSnapshot.test');
await import('./fixedCut.test');
await import('./keys.test');
await import('./restoreTarget.test');
await import('./boundIds.test');
