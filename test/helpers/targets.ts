import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { createBucket, startMoto, startSwift, type S3Server } from '../harness/servers.js';
import { tempDir } from './cli.js';

/** A store the CLI can be pointed at: its flags, the environment it needs, and a teardown. */
export interface Target {
  readonly label: string;
  readonly args: string[];
  readonly env: Record<string, string>;
  readonly server?: S3Server;
  readonly bucket?: string;
  close(): Promise<void>;
}

export async function localTarget(): Promise<Target> {
  const t = tempDir('store');
  return { label: 'local', args: ['--store', `file:${t.dir}`], env: {}, close: async () => t.cleanup() };
}

export function serverEnv(s: S3Server): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: s.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s.secretAccessKey,
    AWS_REGION: s.region,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

async function serverTarget(label: string, start: () => Promise<S3Server>, extra: string[] = []): Promise<Target> {
  const server = await start();
  const bucket = `s3duct-test-${randomBytes(4).toString('hex')}`;
  await createBucket(server, bucket);
  return {
    label,
    server,
    bucket,
    args: ['--bucket', bucket, '--endpoint-url', server.endpoint, '--retries', '2', ...extra],
    env: serverEnv(server),
    close: () => server.stop(),
  };
}

export const motoTarget = () => serverTarget('moto', startMoto);
export const swiftTarget = () => serverTarget('swift', startSwift);

/** A target started before the enclosing suite's tests and stopped after them; call the
 *  returned function inside tests. */
export function targetForSuite(open: () => Promise<Target>): () => Target {
  let t: Target | undefined;
  before(async () => {
    t = await open();
  });
  after(async () => {
    await t?.close();
  });
  return () => {
    if (!t) throw new Error('target used outside the suite tests');
    return t;
  };
}
