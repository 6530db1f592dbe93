import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { testBytes } from '../helpers/cli.js';
import { localTarget, motoTarget, swiftTarget, type Target } from '../helpers/targets.js';

const PART = 5 * 1024 * 1024; // S3's smallest part

/**
 * A put that lost its stream's lock while paused must not make another chunk visible: the
 * store asks `beforeCommit` at the last moment, and a refusal leaves neither an object nor
 * an open multipart upload. Shown on each kind of store, one request and several parts.
 */
function commitSuite(makeTarget: () => Promise<Target>) {
  let t: Target;
  let store: Store;
  before(async () => {
    t = await makeTarget();
    const s = t.server;
    ({ store } = await openStore({
      ...(s ? { bucket: t.bucket, endpointUrl: s.endpoint, region: s.region, credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } } : { store: t.args[1] }),
      retries: 1,
      checksumMode: 'when_supported',
      partSize: PART,
      uploadSlots: 2,
    }));
  });
  after(() => t?.close());

  async function* body(b: Buffer): AsyncGenerator<Buffer> {
    for (let at = 0; at < b.length; at += 1 << 20) yield b.subarray(at, at + (1 << 20));
  }

  for (const [label, size] of [
    ['one request', 1000],
    ['several parts', 2 * PART + 10],
  ] as const) {
    test(`${label}: a refusal before commit leaves nothing; consent stores the object`, async () => {
      const data = testBytes(size, 7);
      const refused = new Error('lock lost');
      await assert.rejects(store.put(`c/${size}/refused`, body(data), { beforeCommit: async () => Promise.reject(refused) }), /lock lost/);
      assert.equal(await store.head(`c/${size}/refused`), null, 'a refused object became visible');
      const open: unknown[] = [];
      for await (const u of store.listIncomplete(`c/${size}/`)) open.push(u);
      assert.deepEqual(open, [], 'a refused write left an incomplete upload');

      let asked = 0;
      await store.put(`c/${size}/kept`, body(data), { beforeCommit: async () => void asked++ });
      assert.equal(asked, 1);
      assert.ok((await store.get(`c/${size}/kept`)).equals(data));
    });
  }
}

describe('store commit gate: local directory', () => commitSuite(localTarget));
describe('store commit gate: moto', () => commitSuite(motoTarget));
describe('store commit gate: OpenStack Swift s3api', () => commitSuite(swiftTarget));
