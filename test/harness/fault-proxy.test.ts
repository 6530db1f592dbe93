// The fault proxy itself (each fault does what its contract says, against a real moto), and
// the real CLI's put → get round trips through it under each fault s3duct survives today.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { BIN, KEY_HEX, runCli, testBytes } from '../helpers/cli.js';
import { serverEnv } from '../helpers/targets.js';
import { startFaultProxy, type FaultProxy, type FaultRule } from './fault-proxy.js';
import { createBucket, s3Request, startMoto, startSwift, type S3Server } from './servers.js';

const CHUNK = 100 * 1024;
const INPUT = testBytes(2 * 1024 * 1024 + 777, 3);
const CHUNKS = Math.ceil(INPUT.length / CHUNK);
const chunkKey = (name: string, i: number) => `${name}/chunks/${String(i).padStart(8, '0')}`;

/** CLI flags for stream `name` in `bucket` through the proxy, with retries to spare. */
const streamArgs = (p: FaultProxy, bucket: string, name: string) => [
  '--bucket', bucket, '--endpoint-url', p.endpoint, '--retries', '10', '--name', name, '--key', `hex:${KEY_HEX}`,
];

/** put, then get, through the proxy: both succeed and the bytes come back identical. */
async function roundTrip(p: FaultProxy, bucket: string, name: string, data = INPUT, putFlags = ['--chunk-size', String(CHUNK)]): Promise<void> {
  const args = streamArgs(p, bucket, name);
  const env = serverEnv(p.upstream);
  const put = await runCli(['put', ...args, ...putFlags], { input: data, env });
  assert.equal(put.code, 0, `put: ${put.stderr}`);
  const get = await runCli(['get', ...args], { env });
  assert.equal(get.code, 0, `get: ${get.stderr}`);
  assert.equal(get.stdout.length, data.length);
  assert.ok(get.stdout.equals(data), 'restored bytes differ');
}

async function withProxy<T>(server: S3Server, faults: FaultRule | FaultRule[], body: (p: FaultProxy) => Promise<T>, seed = 1): Promise<T> {
  const p = await startFaultProxy(server, { faults, seed });
  try {
    return await body(p);
  } finally {
    await p.stop();
  }
}

describe('fault proxy against moto', () => {
  let moto: S3Server;
  let bucket: string;
  before(async () => {
    moto = await startMoto();
    bucket = `fp-${randomBytes(4).toString('hex')}`;
    await createBucket(moto, bucket);
  });
  after(async () => {
    await moto?.stop();
  });

  test('passes requests through unchanged, names and counts them', async () => {
    await withProxy(moto, [], async (p) => {
      const body = Buffer.from('through the proxy');
      assert.equal((await s3Request(p.server, 'PUT', `/${bucket}/dir/a b.txt`, { body })).status, 200);
      const got = await s3Request(p.server, 'GET', `/${bucket}/dir/a b.txt`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, body);
      const list = await s3Request(p.server, 'GET', `/${bucket}`, { query: { 'list-type': '2', prefix: 'dir/' } });
      assert.match(list.body.toString(), /<Key>dir\/a b\.txt<\/Key>/);
      assert.equal((await s3Request(p.server, 'GET', `/${bucket}/missing`)).status, 404);

      assert.deepEqual(
        p.requests().map((r) => [r.seq, r.op, r.key, r.status, r.upstreamStatus, r.fault]),
        [
          [1, 'PutObject', 'dir/a b.txt', 200, 200, undefined],
          [2, 'GetObject', 'dir/a b.txt', 200, 200, undefined],
          [3, 'ListObjectsV2', undefined, 200, 200, undefined],
          [4, 'GetObject', 'missing', 404, 404, undefined],
        ],
      );
      assert.deepEqual([...p.counts()], [['PutObject dir/a b.txt', 1], ['GetObject dir/a b.txt', 1], ['ListObjectsV2 ', 1]]);
      assert.equal(p.count({ op: 'GetObject' }), 2);
      assert.equal(p.count({ op: 'GetObject' }, { acknowledged: true }), 1);
      assert.equal(p.count({ key: /^dir\// }), 2);
      assert.equal(p.faultsInjected(), 0);
    });
  });

  test('S3-style errors on the nth matching request only', async () => {
    await s3Request(moto, 'PUT', `/${bucket}/e`, { body: 'e' });
    const rules: FaultRule[] = [
      { match: { op: 'GetObject', key: 'e' }, kinds: ['slow-down'], nth: [2] },
      { match: { op: 'HeadObject' }, kinds: ['internal-error'], nth: [1] },
    ];
    await withProxy(moto, rules, async (p) => {
      assert.equal((await s3Request(p.server, 'GET', `/${bucket}/e`)).status, 200);
      const slow = await s3Request(p.server, 'GET', `/${bucket}/e`);
      assert.equal(slow.status, 503);
      assert.match(slow.body.toString(), /<Code>SlowDown<\/Code>/);
      assert.equal((await s3Request(p.server, 'GET', `/${bucket}/e`)).status, 200);
      assert.equal((await s3Request(p.server, 'HEAD', `/${bucket}/e`)).status, 500);
      assert.equal((await s3Request(p.server, 'HEAD', `/${bucket}/e`)).status, 200);
      assert.deepEqual(
        p.requests().map((r) => [r.op, r.fault, r.status, r.upstreamStatus]),
        [
          ['GetObject', undefined, 200, 200],
          ['GetObject', 'slow-down', 503, undefined],
          ['GetObject', undefined, 200, 200],
          ['HeadObject', 'internal-error', 500, undefined],
          ['HeadObject', undefined, 200, 200],
        ],
      );
      assert.equal(p.faultsInjected(), 2);
    });
  });

  test('an error answer to an upload is heard, and the store never sees the upload', async () => {
    await withProxy(moto, { match: { op: 'PutObject' }, kinds: ['slow-down'], nth: [1] }, async (p) => {
      const res = await s3Request(p.server, 'PUT', `/${bucket}/never`, { body: randomBytes(300_000) });
      assert.equal(res.status, 503);
      assert.equal((await s3Request(moto, 'HEAD', `/${bucket}/never`)).status, 404);
    });
  });

  test('reset and reset-mid-request: the client sees a broken connection, the store nothing', async () => {
    const rule: FaultRule = { match: { op: 'PutObject' }, kinds: ['reset', 'reset-mid-request'], rate: 1, maxFaults: 2 };
    await withProxy(moto, rule, async (p) => {
      for (let i = 0; i < 2; i++) {
        await assert.rejects(s3Request(p.server, 'PUT', `/${bucket}/reset${i}`, { body: randomBytes(300_000) }), /ECONNRESET|EPIPE|socket hang up/);
      }
      assert.equal((await s3Request(p.server, 'PUT', `/${bucket}/reset2`, { body: 'x' })).status, 200, 'maxFaults is a bound');
      for (let i = 0; i < 2; i++) assert.equal((await s3Request(moto, 'HEAD', `/${bucket}/reset${i}`)).status, 404);
      assert.deepEqual(
        p.requests().map((r) => [r.status, r.upstreamStatus]),
        [
          [undefined, undefined],
          [undefined, undefined],
          [200, 200],
        ],
      );
      assert.equal(p.counts().size, 1);
    });
  });

  test('lost-response: the store commits the upload but the client never hears', async () => {
    await withProxy(moto, { match: { op: 'PutObject' }, kinds: ['lost-response'], nth: [1] }, async (p) => {
      await assert.rejects(s3Request(p.server, 'PUT', `/${bucket}/lost`, { body: 'committed' }), /ECONNRESET|socket hang up/);
      const direct = await s3Request(moto, 'GET', `/${bucket}/lost`);
      assert.equal(direct.body.toString(), 'committed');
      assert.deepEqual(
        p.requests().map((r) => [r.fault, r.status, r.upstreamStatus]),
        [['lost-response', undefined, 200]],
      );
      assert.equal(p.counts().get('PutObject lost'), 1, 'the store did the work, so it counts');
    });
  });

  test('truncate: headers and half the body arrive, then the connection breaks', async () => {
    const body = randomBytes(200_000);
    await s3Request(moto, 'PUT', `/${bucket}/long`, { body });
    await withProxy(moto, { match: { op: 'GetObject' }, kinds: ['truncate'], nth: [1] }, async (p) => {
      await assert.rejects(s3Request(p.server, 'GET', `/${bucket}/long`), /aborted|ECONNRESET/);
      assert.deepEqual((await s3Request(p.server, 'GET', `/${bucket}/long`)).body, body);
      assert.deepEqual(
        p.requests().map((r) => [r.fault, r.status]),
        [
          ['truncate', 200],
          [undefined, 200],
        ],
      );
    });
  });

  test('stall: the answer comes, late', async () => {
    await s3Request(moto, 'PUT', `/${bucket}/slow`, { body: 's' });
    await withProxy(moto, { kinds: ['stall'], stallMs: 300, nth: [1] }, async (p) => {
      const t0 = Date.now();
      const res = await s3Request(p.server, 'GET', `/${bucket}/slow`);
      // A lower bound only: it cannot flake on a slow machine.
      assert.ok(Date.now() - t0 >= 290, 'answered before the stall ended');
      assert.equal(res.body.toString(), 's');
      assert.equal(p.requests()[0]!.fault, 'stall');
    });
  });

  test('the same seed gives the same faults', async () => {
    await s3Request(moto, 'PUT', `/${bucket}/seeded`, { body: 's' });
    const run = (seed: number) =>
      withProxy(
        moto,
        { kinds: ['slow-down', 'internal-error'], rate: 0.5 },
        async (p) => {
          for (let i = 0; i < 24; i++) await s3Request(p.server, 'HEAD', `/${bucket}/seeded`);
          return p.requests().map((r) => r.fault ?? '-');
        },
        seed,
      );
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.ok(a.includes('slow-down') && a.includes('internal-error') && a.includes('-'), a.join(','));
  });

  test('gate after-upstream: holds the answer of an upload the store has committed', async () => {
    await withProxy(moto, [], async (p) => {
      const gate = p.hold({ op: 'PutObject', key: 'gated' }, { at: 'after-upstream' });
      let answered = false;
      const put = s3Request(p.server, 'PUT', `/${bucket}/gated`, { body: 'held' }).then((r) => ((answered = true), r));
      const [held] = await gate.waitHeld();
      assert.equal(held!.upstreamStatus, 200);
      assert.equal((await s3Request(moto, 'GET', `/${bucket}/gated`)).body.toString(), 'held');
      // Other requests are not held.
      assert.equal((await s3Request(p.server, 'HEAD', `/${bucket}/gated`)).status, 200);
      assert.equal(answered, false);
      gate.release();
      assert.equal((await put).status, 200);
      assert.equal((await s3Request(p.server, 'PUT', `/${bucket}/gated`, { body: 'again' })).status, 200, 'released gates hold nothing more');
    });
  });

  test('gate before-upstream: the store has not seen the request until release', async () => {
    await withProxy(moto, [], async (p) => {
      const gate = p.hold({ op: 'PutObject' });
      const put = s3Request(p.server, 'PUT', `/${bucket}/pre-gated`, { body: 'later' });
      await gate.waitHeld();
      assert.equal((await s3Request(moto, 'HEAD', `/${bucket}/pre-gated`)).status, 404);
      gate.release();
      assert.equal((await put).status, 200);
      assert.equal((await s3Request(moto, 'GET', `/${bucket}/pre-gated`)).body.toString(), 'later');
    });
  });

  describe('s3duct put → get through the proxy', () => {
    test('without faults: one acknowledged PUT per chunk, counted', async () => {
      await withProxy(moto, [], async (p) => {
        await roundTrip(p, bucket, 'clean');
        const counts = p.counts();
        for (let i = 0; i < CHUNKS; i++) assert.equal(counts.get(`PutObject ${chunkKey('clean', i)}`), 1, `chunk ${i}`);
        assert.equal(counts.get(`PutObject ${chunkKey('clean', CHUNKS)}`), undefined);
        assert.equal(p.count({ op: 'PutObject', key: /^clean\/chunks\// }), CHUNKS);
        assert.equal(counts.get('PutObject clean/manifest'), 1);
        assert.ok(p.count({ op: 'GetObject', key: /^clean\/chunks\// }, { acknowledged: true }) >= CHUNKS);
      });
    });

    const survived: Array<[string, FaultRule]> = [
      ['20% connection resets', { kinds: ['reset'], rate: 0.2 }],
      ['20% resets while the body is sent', { match: { method: 'PUT' }, kinds: ['reset-mid-request'], rate: 0.2 }],
      // The SDK backs off from throttling from a 500 ms base: a bound keeps the test quick.
      ['20% 503 SlowDown (at most 6)', { kinds: ['slow-down'], rate: 0.2, maxFaults: 6 }],
      ['20% 500 InternalError', { kinds: ['internal-error'], rate: 0.2 }],
      ['20% lost responses to PUTs', { match: { method: 'PUT' }, kinds: ['lost-response'], rate: 0.2 }],
      ['20% truncated GET bodies', { match: { op: 'GetObject' }, kinds: ['truncate'], rate: 0.2 }],
      ['10% stalls of 300 ms', { kinds: ['stall'], rate: 0.1, stallMs: 300 }],
      ['15% of every fault at once', { kinds: ['reset', 'reset-mid-request', 'lost-response', 'truncate', 'internal-error', 'slow-down', 'stall'], rate: 0.15, stallMs: 100 }],
    ];
    test('survives a lost CompleteMultipartUpload answer and broken part uploads', async () => {
      const rules: FaultRule[] = [
        { match: { op: 'CompleteMultipartUpload' }, kinds: ['lost-response'], nth: [1] },
        { match: { op: 'UploadPart' }, kinds: ['reset-mid-request', 'slow-down', 'lost-response'], nth: [2, 3] },
      ];
      await withProxy(moto, rules, async (p) => {
        await roundTrip(p, bucket, 'mp', testBytes(6 * 1024 * 1024 + 5, 11), ['--chunk-size', '6M', '--part-size', '5M']);
        assert.equal(p.faultsInjected(), 3);
        assert.equal(p.count({ op: 'CompleteMultipartUpload' }), 2);
      });
    });

    test('a gate freezes a put after the store acknowledged chunk 2, for a kill -9 there', async () => {
      await withProxy(moto, [], async (p) => {
        const name = 'killed';
        const gate = p.hold({ op: 'PutObject', key: chunkKey(name, 2) }, { at: 'after-upstream' });
        const child = spawn(process.execPath, [BIN, 'put', ...streamArgs(p, bucket, name), '--chunk-size', String(CHUNK), '--upload-workers', '1'], {
          env: { ...process.env, ...serverEnv(moto) },
          stdio: ['pipe', 'ignore', 'ignore'],
        });
        child.stdin.on('error', () => {});
        child.stdin.end(INPUT);
        const exited = once(child, 'exit');
        await gate.waitHeld();
        child.kill('SIGKILL');
        assert.deepEqual(await exited, [null, 'SIGKILL']);
        gate.release();
        // With one upload worker nothing after chunk 2 was sent: the store holds exactly 0..2.
        assert.deepEqual(
          p.requests().filter((r) => r.op === 'PutObject' && r.key?.startsWith(`${name}/chunks/`)).map((r) => [r.key, r.upstreamStatus]),
          [0, 1, 2].map((i) => [chunkKey(name, i), 200]),
        );
        assert.equal((await s3Request(moto, 'HEAD', `/${bucket}/${chunkKey(name, 2)}`)).status, 200);
        assert.equal((await s3Request(moto, 'HEAD', `/${bucket}/${name}/manifest`)).status, 404);
      });
    });

    for (const [label, rule] of survived) {
      test(`survives ${label}`, async () => {
        await withProxy(moto, rule, async (p) => {
          const name = label.replace(/\W+/g, '-');
          await roundTrip(p, bucket, name);
          assert.ok(p.faultsInjected() >= 3, `only ${p.faultsInjected()} faults injected`);
          // Every chunk reached the store at least once, the manifest too.
          const counts = p.counts();
          for (let i = 0; i < CHUNKS; i++) assert.ok((counts.get(`PutObject ${chunkKey(name, i)}`) ?? 0) >= 1, `chunk ${i}`);
          assert.ok((counts.get(`PutObject ${name}/manifest`) ?? 0) >= 1);
        });
      });
    }
  });
});

describe('fault proxy against Swift (which checks SigV4 signatures)', () => {
  let swift: S3Server;
  before(async () => {
    swift = await startSwift();
  });
  after(async () => {
    await swift?.stop();
  });

  test('signatures made for the proxy address verify at the store', async () => {
    await withProxy(swift, { match: { op: 'GetObject' }, kinds: ['slow-down'], nth: [1] }, async (p) => {
      const bucket = `fp-${randomBytes(4).toString('hex')}`;
      await createBucket(p.server, bucket);
      const body = randomBytes(70_000);
      assert.equal((await s3Request(p.server, 'PUT', `/${bucket}/dir/x y`, { body })).status, 200);
      assert.equal((await s3Request(p.server, 'GET', `/${bucket}/dir/x y`)).status, 503);
      assert.deepEqual((await s3Request(p.server, 'GET', `/${bucket}/dir/x y`)).body, body);
      const forged = await s3Request({ ...p.server, secretAccessKey: 'wrong' }, 'GET', `/${bucket}/dir/x y`);
      assert.equal(forged.status, 403, 'Swift still checks signatures through the proxy');

      p.setFaults({ kinds: ['reset', 'slow-down', 'truncate'], rate: 0.2 });
      await roundTrip(p, bucket, 'sw');
      assert.ok(p.faultsInjected() >= 3);
    });
  });
});
