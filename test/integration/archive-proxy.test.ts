import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli, testBytes } from '../helpers/cli.js';
import { startRestoreProxy, type Reported, type RestoreProxy } from '../harness/restore-proxy.js';
import { s3Request } from '../harness/servers.js';
import { motoTarget, type Target } from '../helpers/targets.js';

const CHUNK = 64 * 1024;
const HOUR = 3_600_000;

/**
 * The restore states moto never shows (in progress, expired) and list-based polling, through
 * a proxy in front of moto that reports them over real HTTP (test/harness/restore-proxy.ts).
 */
describe('archive lifecycle: restore states through a proxy', () => {
  let t: Target;
  let proxy: RestoreProxy;
  let args: string[];
  before(async () => {
    t = await motoTarget();
    proxy = await startRestoreProxy(t.server!);
    args = ['--bucket', t.bucket!, '--endpoint-url', proxy.endpoint, '--retries', '1'];
  });
  after(async () => {
    await proxy?.stop();
    await t?.close();
  });
  const cli = (verb: string, rest: string[], input?: Buffer) => runCli([verb, ...args, ...rest], { env: t.env, input });
  const put = async (name: string, chunks: number) => {
    const r = await cli('put', ['--name', name, '--chunk-size', String(CHUNK), '--storage-class', 'DEEP_ARCHIVE', '--no-encrypt', '-q', '--summary', 'none'], testBytes(chunks * CHUNK - 1, chunks));
    assert.equal(r.code, 0, r.stderr);
  };
  const chunkKey = (name: string, i: number) => `${name}/chunks/${String(i).padStart(8, '0')}`;
  const report = (f: (key: string, via: 'head' | 'list') => Reported | undefined) => (proxy.report = f);

  test('restore in progress: head says restoring (exit 2) and get names it (exit 2)', async () => {
    await put('p/ongoing', 2);
    report((k) => (k === chunkKey('p/ongoing', 1) ? { restore: 'ongoing' } : k.startsWith('p/ongoing/chunks/') ? { restore: 'restored', expiry: new Date(Date.now() + 24 * HOUR) } : undefined));
    const head = await cli('head', ['p/ongoing']);
    assert.equal(head.code, 2, head.stderr);
    assert.match(head.stdout.toString(), /^restoring: restore in progress, 1 of 2 chunks readable/);
    const json = JSON.parse((await cli('head', ['p/ongoing', '--json'])).stdout.toString());
    assert.deepEqual(json.chunks.map((c: any) => c.state), ['restored', 'restoring']);
    const get = await cli('get', ['--name', 'p/ongoing']);
    assert.equal(get.code, 2);
    assert.equal(get.stdout.length, 0);
    assert.match(get.stderr, /1 of 2 chunks are archived and not readable \(1 restoring\)/);
  });

  test('restored with an expiry: head readable (exit 0) and says until when', async () => {
    const expiry = new Date(Date.UTC(2099, 0, 2));
    report((k) => (k.startsWith('p/ongoing/chunks/') ? { restore: 'restored', expiry } : undefined));
    const head = await cli('head', ['p/ongoing']);
    assert.equal(head.code, 0, head.stderr);
    assert.match(head.stdout.toString(), /^restored: all 2 chunks readable until 2099-01-02T00:00:00.000Z/);
  });

  test('expired restored copy: archived again (exit 2), and restore asks again', async () => {
    report((k) => (k.startsWith('p/ongoing/chunks/') ? { restore: 'restored', expiry: new Date(Date.now() - HOUR) } : undefined));
    const head = await cli('head', ['p/ongoing']);
    assert.equal(head.code, 2);
    assert.match(head.stdout.toString(), /^archived: 2 of 2 chunks \(DEEP_ARCHIVE\) need a restore \(2 restored copies have expired\)/);
    const plan = JSON.parse((await cli('restore', ['p/ongoing', '--dry-run', '--json'])).stdout.toString());
    assert.deepEqual(plan.chunksToRestore, [0, 1]);
  });

  test('restore --wait polls with listings (RestoreStatus), not a HEAD per chunk, and reports progress', async () => {
    await put('p/wait', 3);
    const before = proxy.requests.length;
    // Listings of the chunks since the first restore request: the first two say "ongoing".
    const pollsSoFar = () => {
      const seen = proxy.requests.slice(before);
      const first = seen.findIndex((r) => r.method === 'POST' && r.query.has('restore'));
      return first < 0 ? 0 : seen.slice(first).filter((r) => r.query.get('prefix') === 'p/wait/chunks/').length;
    };
    report((k, via) => {
      if (!proxy.restoreRequested.has(k)) return undefined; // before the request: moto's own answer
      if (via === 'head') return { restore: 'ongoing' };
      return pollsSoFar() <= 2 ? { restore: 'ongoing' } : { restore: 'restored', expiry: new Date(Date.now() + 24 * HOUR) };
    });
    const res = await cli('restore', ['p/wait', '--wait', '--poll-interval', '1s', '--tier', 'Standard']);
    assert.equal(res.code, 0, res.stderr);
    const seen = proxy.requests.slice(before);
    const restores = seen.filter((r) => r.method === 'POST' && r.query.has('restore'));
    assert.equal(restores.length, 3);
    const firstRestore = seen.indexOf(restores[0]!);
    const polls = seen.slice(firstRestore).filter((r) => r.query.get('list-type') === '2');
    assert.ok(polls.length >= 3, `${polls.length} polls`);
    for (const p of polls) assert.match(String(p.headers['x-amz-optional-object-attributes']), /RestoreStatus/);
    assert.deepEqual(seen.slice(firstRestore).filter((r) => r.method === 'HEAD'), [], 'no HEAD per chunk while the listing reports status');
    assert.match(res.stderr, /waiting for restore: 0\/3 chunks readable, elapsed/);
    assert.match(res.stderr, /3\/3 chunks readable/);
  });

  test('get --restore writes chunks in order as each becomes readable', async () => {
    await put('p/stream', 2);
    const before = proxy.requests.length;
    const pollsSoFar = () => proxy.requests.slice(before).filter((r) => r.query.get('prefix') === 'p/stream/chunks/').length;
    const later = { restore: 'restored', expiry: new Date(Date.now() + 24 * HOUR) } as const;
    // Survey before the request, then: chunk 0 readable at the first poll, chunk 1 at the third.
    report((k, via) => {
      if (!proxy.restoreRequested.has(k) || via === 'head') return undefined;
      if (k === chunkKey('p/stream', 0)) return later;
      return pollsSoFar() >= 4 ? later : { restore: 'ongoing' };
    });
    const res = await cli('get', ['--name', 'p/stream', '--restore', '--poll-interval', '1s', '--summary', 'none']);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(res.stdout.equals(testBytes(2 * CHUNK - 1, 2)), 'restored bytes differ');
    assert.match(res.stderr, /waiting for restore: 1\/2 chunks readable[\s\S]*waiting for restore: 2\/2 chunks readable/);
    const seen = proxy.requests.slice(before);
    const at = (pred: (r: (typeof seen)[number]) => boolean) => seen.findIndex(pred);
    const get0 = at((r) => r.method === 'GET' && r.key === chunkKey('p/stream', 0));
    const get1 = at((r) => r.method === 'GET' && r.key === chunkKey('p/stream', 1));
    const lists = seen.map((r, i) => (r.query.get('prefix') === 'p/stream/chunks/' ? i : -1)).filter((i) => i >= 0);
    assert.ok(get0 > lists[1]! && get0 < lists[2]!, 'chunk 0 read as soon as it was readable, while chunk 1 was still restoring');
    assert.ok(get1 > lists[3]!, 'chunk 1 read only once the store reported it readable');
  });

  test('RestoreAlreadyInProgress counts as success; other refusals fail the restore with their code', async () => {
    await put('p/race', 2);
    report(() => undefined);
    proxy.refuseRestore = (k) => (k.startsWith('p/race/') ? { status: 409, code: 'RestoreAlreadyInProgress' } : undefined);
    const ok = await cli('restore', ['p/race']);
    assert.equal(ok.code, 0, ok.stderr);
    proxy.refuseRestore = (k) => (k === chunkKey('p/race', 1) ? { status: 403, code: 'AccessDenied' } : undefined);
    const denied = await cli('restore', ['p/race']);
    assert.equal(denied.code, 8, denied.stderr);
    assert.match(denied.stderr, /restore request failed for 1 of 2 chunks; chunk 1: .*access denied/);
    proxy.refuseRestore = () => undefined;
  });

  test('restore --wait fails rather than loop forever when a chunk never shows a restore', async () => {
    await put('p/never', 1);
    report((k) => (k.startsWith('p/never/') ? { restore: 'none' } : undefined));
    const res = await cli('restore', ['p/never', '--wait', '--poll-interval', '1s']);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /chunk 0 .*a restore was requested but the store reports none in progress/);
    assert.equal([...proxy.restoreRequested].filter((k) => k.startsWith('p/never/')).length, 1);
  });

  test('restore --wait gives up at --timeout (exit 2); a missing chunk fails at once (exit 5, as in get and verify)', async () => {
    report((k) => (k.startsWith('p/never/') ? { restore: 'ongoing' } : undefined));
    const res = await cli('restore', ['p/never', '--wait', '--poll-interval', '1s', '--timeout', '2s']);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /gave up waiting after .*: 0 of 1 chunks readable; the restore continues/);

    await put('p/holed', 2);
    assert.equal((await s3Request(t.server!, 'DELETE', `/${t.bucket}/${chunkKey('p/holed', 1)}`)).status, 204);
    const head = await cli('head', ['p/holed']);
    assert.equal(head.code, 5);
    assert.match(head.stdout.toString(), /^missing: 1 of 2 chunks are not in the store/);
    const restore = await cli('restore', ['p/holed', '--wait', '--poll-interval', '1s']);
    assert.equal(restore.code, 5, 'a missing chunk is exit 5 in every command');
    assert.match(restore.stderr, /missing: 1 of 2 chunks/);
  });

  test('list walks folders with a delimiter and never enumerates a chunks/ folder', async () => {
    await s3Request(t.server!, 'PUT', `/${t.bucket}/half/chunks/00000000`, { body: 'x', headers: { 'content-type': 'application/x-s3duct-chunk' } });
    const before = proxy.requests.length;
    report(() => undefined);
    const res = await cli('list', ['--json']);
    assert.equal(res.code, 0, res.stderr);
    const rows = JSON.parse(res.stdout.toString());
    assert.deepEqual(
      rows.map((r: any) => [r.name, r.status]),
      [
        ['half', 'incomplete'],
        ['p/holed', 'unknown'],
        ['p/never', 'restored'],
        ['p/ongoing', 'archived'],
        ['p/race', 'mixed'],
        ['p/stream', 'restored'],
        ['p/wait', 'restored'],
      ],
    );
    const lists = proxy.requests.slice(before).filter((r) => r.query.get('list-type') === '2');
    assert.ok(lists.length > 0);
    for (const l of lists) {
      assert.equal(l.query.get('delimiter'), '/');
      assert.doesNotMatch(l.query.get('prefix') ?? '', /chunks\/$/);
    }
  });
});
