import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StreamLayout, normalizePrefix, validateStreamName } from '../../src/format/layout.js';
import { parseSize } from '../../src/units.js';
import { S3ductError } from '../../src/errors.js';

test('parseSize: power-of-1024 units, rejects junk', () => {
  assert.equal(parseSize('64M'), 64 * 1024 * 1024);
  assert.equal(parseSize('1G'), 1024 ** 3);
  assert.equal(parseSize('512k'), 512 * 1024);
  assert.equal(parseSize('2MiB'), 2 * 1024 * 1024);
  assert.equal(parseSize('100'), 100);
  for (const bad of ['', 'M', '1.5G', '-1M', '10X', '1 0M']) assert.throws(() => parseSize(bad), (e) => e instanceof S3ductError && e.exitCode === 3, bad);
});

test('stream names: nested names allowed, traversal and reserved words refused', () => {
  assert.equal(validateStreamName('host1/daily'), 'host1/daily');
  for (const bad of ['', '../x', 'a//b', '/abs', 'a/chunks', 'manifest', 'a b', '.hidden']) assert.throws(() => validateStreamName(bad), S3ductError, bad);
});

test('layout keys', () => {
  const l = new StreamLayout(normalizePrefix('/backups/'), 'host1/daily');
  assert.equal(l.manifest, 'backups/host1/daily/manifest');
  assert.equal(l.chunk(7), 'backups/host1/daily/chunks/00000007');
  assert.equal(new StreamLayout(normalizePrefix(undefined), 'x').manifest, 'x/manifest');
  assert.equal(normalizePrefix('a/b'), 'a/b/');
  for (const bad of ['../x/', 'pre//x', 'pre/./', './a', 'a/..']) assert.throws(() => normalizePrefix(bad), /invalid --prefix/, bad);
});
