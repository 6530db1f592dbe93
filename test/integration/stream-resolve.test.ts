import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { listPrivateStreams, resolveStream, type PrivateEntry } from '../../src/commands/stream-resolve.js';
import { privateIdOf } from '../../src/format/private-id.js';
import { LocalStore } from '../../src/store/local-store.js';
import { runCli, tempDir } from '../helpers/cli.js';

const KEY = 'cd'.repeat(32);
const OTHER = 'ef'.repeat(32);

const t = tempDir('resolve');
after(() => t.cleanup());

/** What `list` builds on: every private stream under the prefix, classified, without a chunk listing. */
test('listPrivateStreams: streams, unfinished puts, other keys\' and junk entries; named streams passed over', async () => {
  const base = ['--store', `file:${t.dir}`, '--prefix', 'pre', '--summary', 'json'];
  const put = async (key: string, name: string, data: string, extra: string[] = ['--private-names']) => {
    const r = await runCli(['put', ...base, '--key', `hex:${key}`, '--name', name, ...extra], { input: data });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stderr.trim().split('\n').pop()!).id as string;
  };
  const v1 = await put(KEY, 'docs', 'one');
  const v2 = await put(KEY, 'docs', 'two!');
  const theirs = await put(OTHER, 'docs', 'other key');
  await put(KEY, 'named/plain', 'named', []);
  const unfinished = privateIdOf(randomBytes(16));
  mkdirSync(path.join(t.dir, 'pre', unfinished, 'chunks'), { recursive: true });
  writeFileSync(path.join(t.dir, 'pre', unfinished, 'chunks', '00000000'), 'x');
  const junk = privateIdOf(randomBytes(16));
  mkdirSync(path.join(t.dir, 'pre', junk));
  writeFileSync(path.join(t.dir, 'pre', junk, 'manifest'), 'not a manifest');

  const store = new LocalStore(t.dir);
  const protection = { mode: 'aes-256-gcm', key: Buffer.from(KEY, 'hex') } as const;
  const entries: PrivateEntry[] = [];
  for await (const e of listPrivateStreams(store, 'pre/', protection)) entries.push(e);
  const kinds = Object.fromEntries(entries.map((e) => [e.id, e.kind]));
  assert.deepEqual(kinds, { [v1]: 'stream', [v2]: 'stream', [theirs]: 'foreign', [unfinished]: 'unfinished', [junk]: 'foreign' });
  const names = entries.flatMap((e) => (e.kind === 'stream' ? [[e.id, e.manifest.name, e.manifest.stream.size]] : []));
  assert.deepEqual(names.sort(), [[v1, 'docs', 3], [v2, 'docs', 4]].sort());

  // Another program's file under an id-like folder is passed over, not taken for damage.
  assert.equal((await resolveStream({ store, prefix: 'pre/', protection, privateNames: true }, 'docs')).id, v2);

  // The newest version damaged (this key's, one byte flipped): it may be the newest version of
  // any name, so no name resolves past it, and never quietly to the older version.
  const manifest = path.join(t.dir, 'pre', v2, 'manifest');
  const bytes = readFileSync(manifest);
  bytes[bytes.length - 20]! ^= 1;
  writeFileSync(manifest, bytes);
  const r = await runCli(['get', ...base, '--key', `hex:${KEY}`, '--private-names', 'docs']);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, new RegExp(`cannot tell which version of "docs" is the newest: ${v2} has a damaged manifest .*name it by id: ${v1}`));
  assert.equal(r.stdout.length, 0);
  const byId = await runCli(['get', ...base, '--key', `hex:${KEY}`, v1]);
  assert.equal(byId.code, 0, byId.stderr);
  assert.equal(byId.stdout.toString(), 'one');
});
