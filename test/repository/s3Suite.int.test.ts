/**
 * Repository tests of the unit project that only use the repository's API, run again with every
 * `tempRepo` on the lab's S3 server (a fresh prefix each): snapshots written and read back, fixed
 * cuts, keys added and removed, forget and prune, a restore target refused (the CLI reading S3).
 * Re-opening by `repo.path` (an s3:// URL) takes the credentials from the AWS_* variables, set here
 * to the lab's.
 */
import { afterAll } from 'vitest';
import { cleanS3, S3_ENDPOINT, s3Credentials, s3Location } from '../support/s3';
import { tempReposOn } from './helpers';

const creds = s3Credentials();
process.env.AWS_ACCESS_KEY_ID = creds.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = creds.secretAccessKey;
process.env.AWS_ENDPOINT_URL = S3_ENDPOINT;
tempReposOn(() => s3Location());
afterAll(() => cleanS3());

await import('./saveSnapshot.test');
await import('./fixedCut.test');
await import('./keys.test');
await import('./restoreTarget.test');
