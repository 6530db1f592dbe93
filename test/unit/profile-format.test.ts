import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { ExitCode, S3ductError } from '../../src/errors.js';
import { decodePaper, encodePaper } from '../../src/profile/paper.js';
import {
  newKdfParams,
  openProfile,
  parseProfileDocument,
  sealProfile,
  serializeProfile,
  type ProfileDocument,
} from '../../src/profile/profile-format.js';

const exitCodeOf = (f: () => unknown): number => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof S3ductError, String(e));
    return e.exitCode;
  }
  assert.fail('expected an error');
};

describe('profile sealing', () => {
  const pk = randomBytes(32);
  const secrets = { masterKey: randomBytes(32), credentials: { accessKeyId: 'AKIA', secretAccessKey: 'shh' } };
  const doc = sealProfile({ bucket: 'b', prefix: 'p/', storageClass: 'DEEP_ARCHIVE' }, newKdfParams(), secrets, pk);

  test('round trip returns the master key and credentials', () => {
    const back = openProfile(parseProfileDocument(serializeProfile(doc), 'p'), pk, 'p');
    assert.deepEqual(back.masterKey, secrets.masterKey);
    assert.deepEqual(back.credentials, secrets.credentials);
  });

  test('no secret appears in the file text', () => {
    const text = serializeProfile(doc);
    for (const s of [secrets.masterKey.toString('hex'), secrets.masterKey.toString('base64'), 'shh']) assert.ok(!text.includes(s));
  });

  test('a wrong password key is "wrong password" (exit 8)', () => {
    assert.equal(exitCodeOf(() => openProfile(doc, randomBytes(32), 'p')), ExitCode.auth);
  });

  test('a changed clear field is tampering (exit 4), whatever the field', () => {
    const variants: ProfileDocument[] = [
      { ...doc, settings: { ...doc.settings, bucket: 'evil' } },
      { ...doc, settings: { ...doc.settings, storageClass: undefined } },
      { ...doc, settings: { ...doc.settings, endpointUrl: 'http://127.0.0.1:1' } },
      { ...doc, secret: { ...doc.secret, nonce: randomBytes(12).toString('base64') } },
    ];
    for (const v of variants) assert.equal(exitCodeOf(() => openProfile(v, pk, 'p')), ExitCode.integrity);
  });

  test('reformatting the file (key order, whitespace) does not break it: the AAD is canonical', () => {
    const reordered = JSON.stringify({ secret: doc.secret, kdf: doc.kdf, settings: doc.settings, version: doc.version, format: doc.format });
    assert.deepEqual(openProfile(parseProfileDocument(reordered, 'p'), pk, 'p').masterKey, secrets.masterKey);
  });

  test('structural checks refuse absurd KDF parameters and unknown settings', () => {
    const text = (f: (d: any) => void) => {
      const d = JSON.parse(serializeProfile(doc));
      f(d);
      return JSON.stringify(d);
    };
    assert.equal(exitCodeOf(() => parseProfileDocument(text((d) => (d.kdf.memoryKiB = 1 << 30)), 'p')), ExitCode.integrity);
    assert.equal(exitCodeOf(() => parseProfileDocument(text((d) => (d.kdf.salt = 'AA==')), 'p')), ExitCode.integrity);
    assert.equal(exitCodeOf(() => parseProfileDocument(text((d) => (d.settings.key = 'x')), 'p')), ExitCode.integrity);
    assert.equal(exitCodeOf(() => parseProfileDocument(text((d) => (d.version = 2)), 'p')), ExitCode.usage);
    // A missing version is damage, not a reason to upgrade.
    assert.equal(exitCodeOf(() => parseProfileDocument('{"format":"s3duct-profile"}', 'p')), ExitCode.integrity);
    assert.equal(exitCodeOf(() => parseProfileDocument(text((d) => delete (d as any).version), 'p')), ExitCode.integrity);
    assert.equal(exitCodeOf(() => parseProfileDocument('not json', 'p')), ExitCode.integrity);
  });

  test('default KDF parameters are at least m = 64 MiB, t = 3, with a fresh 16-byte salt', () => {
    const a = newKdfParams();
    assert.ok(a.memoryKiB >= 64 * 1024 && a.iterations >= 3);
    assert.equal(Buffer.from(a.salt, 'base64').length, 16);
    assert.notEqual(a.salt, newKdfParams().salt);
  });
});

describe('paper export', () => {
  const bytes = randomBytes(437);

  test('round trip, also typed back in lower case with other spacing', () => {
    const paper = encodePaper(bytes);
    assert.deepEqual(decodePaper(paper), bytes);
    const retyped = paper
      .split('\n')
      .map((l) => (l.startsWith('#') ? l : l.toLowerCase().replace(/ /g, '   ')))
      .join('\r\n');
    assert.deepEqual(decodePaper(retyped), bytes);
  });

  test('a typo is reported on its line', () => {
    const lines = encodePaper(bytes).split('\n');
    const i = lines.findIndex((l) => l.startsWith('007'));
    lines[i] = lines[i]!.replace(/^(007\s+)(\S)/, (_, a, c) => a + (c === 'A' ? 'B' : 'A'));
    assert.throws(() => decodePaper(lines.join('\n')), /line 007 does not match its check/);
  });

  test('a missing line or end is reported', () => {
    const lines = encodePaper(bytes).split('\n');
    assert.throws(() => decodePaper(lines.filter((l) => !l.startsWith('003')).join('\n')), /line 3 should start/);
    assert.throws(() => decodePaper(lines.filter((l) => !l.startsWith('end')).join('\n')), /"end" line is missing/);
  });
});
