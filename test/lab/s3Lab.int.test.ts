/**
 * The lab's S3 server: versitygw runs on kafka base + 796, `lab status` and `lab env` show it, the
 * lab's bucket exists, and the root credentials in the lab dir (mode 0600) are the ones it accepts.
 */
import { statSync } from 'node:fs';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { labStatus } from '../../lab/lab';
import { labEnv, labTopology } from '../../lab/topology';
import { labS3, S3_BUCKET } from '../support/s3';

describe('lab versitygw', () => {
  it('runs, is shown by status and env, and serves the lab bucket with the lab credentials', async () => {
    const topo = labTopology();
    const s = labStatus(topo);
    expect(s.s3).toMatchObject({ endpoint: `http://127.0.0.1:${Number(process.env.LIFEBOAT_LAB_KAFKA_PORT_BASE ?? 19090) + 796}`, bucket: 'lifeboat-lab', running: true });
    expect(s.s3.pid).toBeGreaterThan(0);
    const env = labEnv(topo);
    expect(env).toMatchObject({ LIFEBOAT_LAB_S3_ENDPOINT: s.s3.endpoint, LIFEBOAT_LAB_S3_BUCKET: S3_BUCKET, LIFEBOAT_LAB_S3_ACCESS_KEY_FILE: topo.s3.accessKeyFile, LIFEBOAT_LAB_S3_SECRET_KEY_FILE: topo.s3.secretKeyFile });
    for (const f of [topo.s3.accessKeyFile, topo.s3.secretKeyFile]) expect(statSync(f).mode & 0o777).toBe(0o600);
    const c = labS3();
    try {
      const r = await c.send(new HeadBucketCommand({ Bucket: S3_BUCKET }));
      expect(r.$metadata.httpStatusCode).toBe(200);
    } finally {
      c.destroy();
    }
  });
});
