// The harness itself: both servers start (twice, to catch leftovers from the first run), speak
// SigV4 S3, and are gone after stop(). A missing server fails here on purpose: CI must not
// pass by quietly testing against nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createBucket, s3Request, startMoto, startSwift, type S3Server } from './servers.js';

function refused(endpoint: string): Promise<boolean> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve) => {
    const sock = net.connect(Number(port), hostname);
    sock.once('connect', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', () => resolve(true));
  });
}

async function roundTrip(server: S3Server): Promise<void> {
  const bucket = `harness-${server.kind}-${process.pid}`;
  await createBucket(server, bucket);
  await createBucket(server, bucket); // already ours: must not throw

  // Spaces and a slash exercise the SigV4 canonical URI encoding.
  const key = 'dir/hello world.txt';
  const body = Buffer.from(`hello from the s3duct harness via ${server.kind}\n`);
  const put = await s3Request(server, 'PUT', `/${bucket}/${key}`, { body, headers: { 'content-type': 'text/plain' } });
  assert.equal(put.status, 200, put.body.toString());

  const get = await s3Request(server, 'GET', `/${bucket}/${key}`);
  assert.equal(get.status, 200, get.body.toString());
  assert.deepEqual(get.body, body);

  // Query parameters (with a slash in a value) exercise the canonical query string.
  const list = await s3Request(server, 'GET', `/${bucket}`, { query: { 'list-type': '2', prefix: 'dir/' } });
  assert.equal(list.status, 200, list.body.toString());
  assert.match(list.body.toString(), /<Key>dir\/hello world\.txt<\/Key>/);

  if (server.kind === 'swift') {
    // moto accepts any signature; Swift checks them, which shows the signing above is right.
    const forged = await s3Request({ ...server, secretAccessKey: 'wrong' }, 'GET', `/${bucket}/${key}`);
    assert.equal(forged.status, 403);
    assert.match(forged.body.toString(), /SignatureDoesNotMatch/);
  }
}

for (const [name, start] of [
  ['moto', startMoto],
  ['swift', startSwift],
] as const) {
  test(`${name}: start, create bucket, signed PUT/GET/list, stop — twice`, async () => {
    for (let round = 1; round <= 2; round++) {
      const t0 = Date.now();
      const server = await start();
      const startedMs = Date.now() - t0;
      try {
        assert.equal(server.kind, name);
        await roundTrip(server);
      } finally {
        await server.stop();
      }
      assert.ok(await refused(server.endpoint), `${name} still listening on ${server.endpoint} after stop()`);
      console.log(`${name} round ${round}: started in ${startedMs} ms`);
    }
  });
}
