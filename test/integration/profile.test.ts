import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { BIN, runCli, tempDir, testBytes, type CliResult } from '../helpers/cli.js';

/** Profile mode against the local-directory store: everything but the S3 listing and devices. */
describe('profiles (local store)', () => {
  const t = tempDir('profile');
  after(() => t.cleanup());
  const store = path.join(t.dir, 'store');
  const cfg = path.join(t.dir, 'cfg');
  const env = { XDG_CONFIG_HOME: cfg, S3DUCT_PROFILE: undefined, PW: 'correct horse', PW2: 'battery staple' };
  const defaultProfile = path.join(cfg, 's3duct', 'profile.json');
  const cli = (args: string[], input?: Buffer | string, extra: Record<string, string | undefined> = {}) =>
    runCli(args, { env: { ...env, ...extra }, input });
  const ok = (r: CliResult) => assert.equal(r.code, 0, r.stderr);
  const oneLineError = (r: CliResult, code: number, message: RegExp) => {
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one-line error expected, got: ${r.stderr}`);
  };
  /** The --summary json line a command printed last on stderr. */
  const summaryOf = (r: CliResult) => JSON.parse(r.stderr.trim().split('\n').pop()!);
  const storeEntries = () => readdirSync(store).sort();

  test('init writes a 0600 profile in a 0700 directory, with no secret in clear, and says how to keep it', async () => {
    const r = await cli(['init', '--store', `file:${store}`, '--storage-class', 'standard_ia', '--password-env', 'PW']);
    ok(r);
    assert.match(r.stderr, /export/);
    assert.equal(statSync(defaultProfile).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(defaultProfile)).mode & 0o777, 0o700);
    const doc = JSON.parse(readFileSync(defaultProfile, 'utf8'));
    assert.equal(doc.format, 's3duct-profile');
    assert.deepEqual(doc.settings, { store: `file:${store}`, storageClass: 'STANDARD_IA' });
    assert.ok(doc.kdf.memoryKiB >= 65536 && doc.kdf.iterations >= 3);
    assert.ok(!('masterKey' in doc) && !JSON.stringify(doc).includes('correct horse'));
  });

  test('a new password the prompt could not type back (newline, tab) is refused; nothing written', async () => {
    const elsewhere = path.join(t.dir, 'cc-profile.json');
    for (const pw of ['secret pw\n', 'sec\tret']) {
      oneLineError(await cli(['init', '--profile', elsewhere, '--store', `file:${store}`, '--password-env', 'CC'], undefined, { CC: pw }), 3, /control character/);
      assert.equal(existsSync(elsewhere), false);
    }
  });

  test('init refuses to overwrite an existing profile (exit 7)', async () => {
    const before = readFileSync(defaultProfile);
    oneLineError(await cli(['init', '--store', `file:${store}`, '--password-env', 'PW']), 7, /already exists.*--reinit/);
    assert.deepEqual(readFileSync(defaultProfile), before);
  });

  const file = path.join(t.dir, 'report 2024.pdf');
  const data = testBytes(250_000, 5);
  writeFileSync(file, data);
  utimesSync(file, new Date('2024-03-01T10:00:00Z'), new Date('2024-02-01T09:30:00Z'));

  test('put FILE needs no store or key flags; get NAME DIR restores the original name and mtime', async () => {
    const put = await cli(['put', file, '--chunk-size', '100K', '--password-env', 'PW', '--summary', 'json']);
    ok(put);
    const summary = summaryOf(put);
    assert.equal(summary.name, 'report 2024.pdf');
    assert.match(summary.id, /^s3d-[a-z2-7]{26}$/);
    assert.equal(summary.storageClass, 'STANDARD_IA', 'the profile default storage class applies');
    assert.deepEqual(storeEntries(), [summary.id], 'the object key is the opaque id, not the name');

    const out = path.join(t.dir, 'restored');
    mkdirSync(out);
    ok(await cli(['get', 'report 2024.pdf', out, '--password-env', 'PW', '--summary', 'none']));
    const restored = path.join(out, 'report 2024.pdf');
    assert.deepEqual(readFileSync(restored), data);
    assert.equal(statSync(restored).mtime.toISOString(), '2024-02-01T09:30:00.000Z');

    oneLineError(await cli(['get', 'report 2024.pdf', out, '--password-env', 'PW']), 7, /already exists/);
    ok(await cli(['get', summary.id, out, '--output', 'copy.pdf', '--password-env', 'PW', '--summary', 'none']));
    assert.deepEqual(readFileSync(path.join(out, 'copy.pdf')), data);
  });

  test('each put is a new version with its own keys; a name gets the newest, an id its own version', async () => {
    const v1 = testBytes(1000, 11);
    const v2 = testBytes(1200, 12);
    const ids: string[] = [];
    for (const v of [v1, v2]) {
      const r = await cli(['put', '--name', 'host1/daily', '--password-env', 'PW', '--summary', 'json'], v);
      ok(r);
      ids.push(summaryOf(r).id);
    }
    assert.notEqual(ids[0], ids[1]);
    // The key check in each object header is derived from the stream's own keys: different
    // values under one master key show that each stream got its own keys.
    const headers = ids.map((id) => readFileSync(path.join(store, id, 'manifest')).subarray(0, 64));
    assert.notDeepEqual(headers[0]!.subarray(8, 24), headers[1]!.subarray(8, 24), 'stream ids');
    assert.notDeepEqual(headers[0]!.subarray(48, 64), headers[1]!.subarray(48, 64), 'per-stream key checks');

    const newest = await cli(['get', 'host1/daily', '--password-env', 'PW', '--summary', 'none']);
    ok(newest);
    assert.deepEqual(newest.stdout, v2);
    const first = await cli(['get', '--name', ids[0]!, '--password-env', 'PW', '--summary', 'none']);
    ok(first);
    assert.deepEqual(first.stdout, v1);
    oneLineError(await cli(['get', 'host1/nightly', '--password-env', 'PW']), 5, /no stream named "host1\/nightly"/);
  });

  test('delete NAME removes the only version of a name; with several it names the ids and deletes nothing', async () => {
    const put = async (name: string) => summaryOf(await cli(['put', '--name', name, '--password-env', 'PW', '--summary', 'json'], 'x')).id as string;
    const once = await put('del/once');
    const twice = [await put('del/twice'), await put('del/twice')];
    const del = await cli(['delete', 'del/once', '--password-env', 'PW', '--yes']);
    ok(del);
    assert.match(del.stdout.toString(), new RegExp(`^deleted stream "${once}"`));
    assert.equal(existsSync(path.join(store, once)), false);
    oneLineError(await cli(['delete', 'del/once', '--password-env', 'PW', '--yes']), 5, /no stream named "del\/once"/);
    const refused = await cli(['delete', 'del/twice', '--password-env', 'PW', '--yes']);
    oneLineError(refused, 3, /"del\/twice" has 2 versions .*; delete takes one of these ids/);
    for (const id of twice) {
      assert.match(refused.stderr, new RegExp(id));
      assert.ok(existsSync(path.join(store, id, 'manifest')), 'a version was deleted');
    }
  });

  test('password from the first line of stdin (get, and put FILE); put from stdin refuses it', async () => {
    const r = await cli(['get', 'host1/daily', '--password-stdin', '--summary', 'none'], 'correct horse\nignored\n');
    ok(r);
    assert.equal(r.stdout.length, 1200);
    ok(await cli(['put', file, '--password-stdin', '--summary', 'none'], 'correct horse\n'));
    oneLineError(await cli(['put', '--name', 'x', '--password-stdin'], 'correct horse\ndata'), 3, /--password-env/);
  });

  test('a wrong password is a one-line error (exit 8), nothing written', async () => {
    const before = storeEntries();
    oneLineError(await cli(['put', file, '--password-env', 'PW2']), 8, /wrong password/);
    oneLineError(await cli(['get', 'host1/daily', '--password-env', 'PW2']), 8, /wrong password/);
    assert.deepEqual(storeEntries(), before);
  });

  test('no terminal and no password source: a clear usage error', async () => {
    // setsid: a new session without a controlling terminal, so /dev/tty cannot be opened even
    // when the tests run in one.
    const r = await new Promise<CliResult>((resolve, reject) => {
      execFile('setsid', ['-w', process.execPath, BIN, 'get', 'host1/daily'], { env: { ...process.env, ...env, PW: '' }, encoding: 'buffer' }, (err, stdout, stderr) =>
        err && typeof err.code !== 'number' ? reject(err) : resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr: stderr.toString() }),
      );
    });
    oneLineError(r, 3, /--password-stdin or --password-env/);
  });

  test('on a terminal the password is prompted, twice on init; two different answers write nothing', async () => {
    // script(1) gives the CLI a pseudo-terminal; all keystrokes are sent at once (no timing):
    // the prompt keeps what was typed ahead for the repeat.
    const onTerminal = (args: string[], typed: string) =>
      new Promise<{ code: number; output: string }>((resolve, reject) => {
        const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
        const child = spawn('script', ['-qec', [process.execPath, BIN, ...args].map(quote).join(' '), '/dev/null'], {
          env: { ...process.env, ...env, S3DUCT_DEBUG: '' },
        });
        let output = '';
        child.stdout.on('data', (d) => (output += d));
        child.stderr.on('data', (d) => (output += d));
        child.on('error', (e) => reject(new Error(`script(1) is needed for this test: ${e.message}`)));
        child.on('close', (code) => resolve({ code: code ?? -1, output }));
        child.stdin.end(typed);
      });
    const p = path.join(t.dir, 'tty.json');
    const init = await onTerminal(['init', '--profile', p, '--store', `file:${store}`], 'tty secret\rtty secret\r');
    assert.equal(init.code, 0, init.output);
    assert.match(init.output, /New password.*\n.*Repeat the password/s);
    const put = await onTerminal(['put', file, '--profile', p, '--summary', 'none'], 'tty secret\r');
    assert.equal(put.code, 0, put.output);
    const wrong = await onTerminal(['get', 'report 2024.pdf', '--profile', p], 'not it\r');
    assert.equal(wrong.code, 8, wrong.output);
    const p2 = path.join(t.dir, 'tty2.json');
    const mismatch = await onTerminal(['init', '--profile', p2, '--store', `file:${store}`], 'one\rtwo\r');
    assert.equal(mismatch.code, 8, mismatch.output);
    assert.match(mismatch.output, /passwords differ/);
    assert.equal(existsSync(p2), false);
  });

  test('a profile readable by others works but says so', async () => {
    const p = path.join(t.dir, 'exposed.json');
    writeFileSync(p, readFileSync(defaultProfile));
    chmodSync(p, 0o644);
    const r = await cli(['get', 'host1/daily', '--profile', p, '--password-env', 'PW', '--summary', 'none']);
    ok(r);
    assert.match(r.stderr, /can be read by other users \(mode 0644\); run: chmod 600/);
  });

  test('store or key flags together with a named profile are refused', async () => {
    oneLineError(await cli(['get', 'host1/daily', '--profile', defaultProfile, '--bucket', 'b', '--password-env', 'PW']), 3, /drop --bucket/);
    oneLineError(await cli(['put', file, '--no-encrypt', '--password-env', 'PW']), 3, /always encrypts/);
    // Store flags mean no profile; a password given as well meant one: never a plaintext put.
    const other = path.join(t.dir, 'flagged-store');
    oneLineError(await cli(['put', file, '--store', `file:${other}`, '--password-env', 'PW']), 3, /--password-env unlocks a profile, but the store or key flags/);
    oneLineError(await cli(['put', file, '--password-env', 'PW'], undefined, { S3DUCT_STORE: `file:${other}` }), 3, /--password-env unlocks a profile/);
    assert.equal(existsSync(other), false, 'the put stored something');
    const none = path.join(t.dir, 'no-such-cfg');
    oneLineError(await cli(['list', '--password-env', 'PW'], undefined, { XDG_CONFIG_HOME: none }), 3, /--password-env unlocks a profile, and there is none at .*s3duct init/);
  });

  test('a tampered profile is detected (exit 4) and a damaged one is refused', async () => {
    const p = path.join(t.dir, 'tampered.json');
    const doc = JSON.parse(readFileSync(defaultProfile, 'utf8'));
    writeFileSync(p, JSON.stringify({ ...doc, settings: { ...doc.settings, store: `file:${t.dir}/elsewhere` } }), { mode: 0o600 });
    oneLineError(await cli(['get', 'host1/daily', '--profile', p, '--password-env', 'PW']), 4, /modified or damaged/);
    writeFileSync(p, JSON.stringify({ ...doc, kdf: { ...doc.kdf, parallelism: 'x' } }));
    chmodSync(p, 0o600);
    oneLineError(await cli(['get', 'host1/daily', '--profile', p, '--password-env', 'PW']), 4, /kdf\.parallelism/);
  });

  test('another profile sharing the store sees none of these streams, and they are skipped', async () => {
    const other = path.join(t.dir, 'other.json');
    ok(await cli(['init', '--profile', other, '--store', `file:${store}`, '--password-env', 'PW']));
    oneLineError(await cli(['get', 'host1/daily', '--profile', other, '--password-env', 'PW']), 5, /no stream named/);
    ok(await cli(['put', '--name', 'host1/daily', '--profile', other, '--password-env', 'PW', '--summary', 'none'], 'theirs'));
    const mine = await cli(['get', 'host1/daily', '--password-env', 'PW', '--summary', 'none']);
    ok(mine);
    assert.equal(mine.stdout.length, 1200);
    const theirs = await cli(['get', 'host1/daily', '--profile', other, '--password-env', 'PW', '--summary', 'none']);
    ok(theirs);
    assert.equal(theirs.stdout.toString(), 'theirs');
  });

  test('a manifest copied under another id is refused (exit 4)', async () => {
    const ids: string[] = [];
    for (const text of ['first', 'second']) {
      const r = await cli(['put', '--name', 'moved', '--password-env', 'PW', '--summary', 'json'], text);
      ok(r);
      ids.push(summaryOf(r).id);
    }
    const [a, b] = ids;
    const original = readFileSync(path.join(store, b!, 'manifest'));
    writeFileSync(path.join(store, b!, 'manifest'), readFileSync(path.join(store, a!, 'manifest')));
    oneLineError(await cli(['get', b!, '--password-env', 'PW']), 4, /belongs to another stream/);
    // The newer version rolled back to the older one's manifest: by name, never the older data.
    oneLineError(await cli(['get', 'moved', '--password-env', 'PW']), 4, new RegExp(`${b} has a damaged manifest .*name it by id: ${a}`));
    const listed = await cli(['list', '--json', '--password-env', 'PW']);
    ok(listed);
    const row = (JSON.parse(listed.stdout.toString()) as Array<{ path: string; note?: string }>).find((r) => r.path === b);
    assert.equal(row?.note, 'damaged manifest', 'list showed the rolled-back manifest as a version of its own');
    writeFileSync(path.join(store, b!, 'manifest'), original);
  });

  test('init --reinit changes the password, keeps <file>.bak (0600), and old backups stay readable', async () => {
    const before = readFileSync(defaultProfile);
    const r = await cli(['init', '--reinit', '--password-env', 'PW', '--new-password-env', 'PW2']);
    ok(r);
    assert.deepEqual(readFileSync(defaultProfile + '.bak'), before);
    assert.equal(statSync(defaultProfile + '.bak').mode & 0o777, 0o600);
    assert.equal(statSync(defaultProfile).mode & 0o777, 0o600);
    const got = await cli(['get', 'host1/daily', '--password-env', 'PW2', '--summary', 'none']);
    ok(got);
    assert.equal(got.stdout.length, 1200);
    oneLineError(await cli(['get', 'host1/daily', '--password-env', 'PW']), 8, /wrong password/);
    ok(await cli(['get', 'host1/daily', '--profile', defaultProfile + '.bak', '--password-env', 'PW', '--summary', 'none']));
    // From stdin: current password, then the new one.
    ok(await cli(['init', '--reinit', '--password-stdin'], 'battery staple\ncorrect horse\n'));
    ok(await cli(['get', 'host1/daily', '--password-env', 'PW', '--summary', 'none']));
    oneLineError(await cli(['init', '--reinit', '--password-env', 'PW2']), 8, /wrong password/);
  });

  test('profile export prints a paper form that import turns back into a working profile', async () => {
    const exp = await cli(['profile', 'export']);
    ok(exp);
    const paper = exp.stdout.toString();
    assert.match(paper, /^s3duct profile export v1\n/);
    assert.ok(!paper.includes(store), 'the export is encoded, not the clear JSON');
    const restored = path.join(t.dir, 'imported', 'profile.json');
    const paperFile = path.join(t.dir, 'paper.txt');
    writeFileSync(paperFile, paper.toLowerCase().replace(/^#.*$/gm, ''));
    ok(await cli(['profile', 'import', paperFile, '--profile', restored]));
    assert.equal(statSync(restored).mode & 0o777, 0o600);
    const got = await cli(['get', 'host1/daily', '--profile', restored, '--password-env', 'PW', '--summary', 'none']);
    ok(got);
    assert.equal(got.stdout.length, 1200);
    oneLineError(await cli(['profile', 'import', paperFile, '--profile', restored]), 7, /already exists/);
    const typo = paper.replace(/^(002\s+)(\S)/m, (_, a, c) => a + (c === 'A' ? 'B' : 'A'));
    oneLineError(await cli(['profile', 'import', '--profile', path.join(t.dir, 'x.json')], typo), 3, /line 002/);
    oneLineError(await cli(['profile', 'import', path.join(t.dir, 'no-such-export.txt'), '--profile', path.join(t.dir, 'y.json')]), 5, /no such file/);
  });
});

describe('private names without a profile (--key --private-names)', () => {
  const t = tempDir('private');
  after(() => t.cleanup());
  const base = ['--store', `file:${t.dir}`, '--key', `hex:${'ab'.repeat(32)}`, '--summary', 'none'];

  test('the name stays out of the object keys; get by name finds it', async () => {
    const put = await runCli(['put', '--private-names', '--name', 'secret-project', ...base], { input: 'hello' });
    assert.equal(put.code, 0, put.stderr);
    assert.deepEqual(
      readdirSync(t.dir).filter((n) => n.includes('secret')),
      [],
    );
    assert.match(readdirSync(t.dir)[0]!, /^s3d-/);
    const get = await runCli(['get', 'secret-project', ...base, '--private-names']);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout.toString(), 'hello');
  });

  test('--private-names without a key is refused; a named stream cannot take a private id form', async () => {
    const r = await runCli(['put', '--private-names', '--name', 'x', '--store', `file:${t.dir}`, '--no-encrypt']);
    assert.equal(r.code, 3, r.stderr);
    const s = await runCli(['put', '--name', 's3d-' + 'a'.repeat(26), ...base], { input: 'x' });
    assert.equal(s.code, 3, s.stderr);
  });
});
