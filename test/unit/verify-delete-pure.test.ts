import assert from 'node:assert/strict';
import { test } from 'node:test';
import { roffText } from '../../src/cli/man-page.js';
import { belongsToStream } from '../../src/commands/delete.js';
import { checkChunkObject, exitCodeFor, formatReport, type ChunkResult, type VerifyReport } from '../../src/commands/verify-report.js';
import { StreamLayout } from '../../src/format/layout.js';
import type { ChunkRecord } from '../../src/format/manifest.js';
import type { ObjectInfo } from '../../src/store/store.js';

const H = 'a'.repeat(64);
const record = (etag?: string): ChunkRecord => ({ index: 3, size: 100, storedSize: 180, sha256: H, sha3_256: H, chain: H, ...(etag ? { etag } : {}) });
const object = (size: number, etag?: string): ObjectInfo => ({ key: 'k', size, storageClass: 'DEEP_ARCHIVE', restore: { state: 'none' }, ...(etag ? { etag } : {}) });

test('checkChunkObject: missing, size, ETag (quoted or bare), and nothing to compare', () => {
  assert.equal(checkChunkObject(record(), 'k', null).status, 'missing');
  const short = checkChunkObject(record('"abc"'), 'k', object(179, '"abc"'));
  assert.equal(short.status, 'size-mismatch');
  assert.match(short.detail!, /179 bytes, manifest says 180/);
  assert.equal(checkChunkObject(record('"abc"'), 'k', object(180, 'abc')).status, 'ok');
  assert.equal(checkChunkObject(record('"abc-2"'), 'k', object(180, '"abd-2"')).status, 'etag-mismatch');
  assert.equal(checkChunkObject(record(), 'k', object(180, '"x"')).status, 'ok', 'no recorded ETag: size is all there is');
  assert.equal(checkChunkObject(record('"x"'), 'k', object(180)).status, 'ok', 'store without ETags');
  assert.equal(checkChunkObject(record(), 'k', object(180)).storageClass, 'DEEP_ARCHIVE');
});

const report = (statuses: ChunkResult['status'][], streamProblem?: string): VerifyReport => ({
  stream: 's',
  level: 'full',
  ok: false,
  chunks: statuses.map((status, index) => ({ index, key: `s/chunks/${index}`, status })),
  extraObjects: [],
  ...(streamProblem ? { streamProblem } : {}),
});

test('exitCodeFor: integrity outranks missing, which outranks archived; not-checked alone is fine', () => {
  assert.equal(exitCodeFor(report(['ok', 'ok'])), 0);
  assert.equal(exitCodeFor(report(['archived', 'missing'])), 5);
  assert.equal(exitCodeFor(report(['missing', 'corrupt', 'not-checked'])), 4);
  assert.equal(exitCodeFor(report(['archived', 'not-checked'])), 2);
  assert.equal(exitCodeFor(report(['ok'], 'final chain value does not match')), 4);
});

test('formatReport: problems by chunk, then the verdict; quiet drops only the OK line', () => {
  const bad = report(['ok', 'corrupt', 'not-checked']);
  assert.equal(formatReport(bad, true), 'chunk 1 (s/chunks/1): corrupt\nstream "s": 1 problem, 1 chunk not checked\n');
  const good = { ...report(['ok']), ok: true };
  assert.match(formatReport(good, false), /OK, 1 chunk read, decrypted and checked/);
  assert.equal(formatReport(good, true), '');
});

test('belongsToStream: the reserved leaves and chunks of this stream, not nested or sibling streams', () => {
  const l = new StreamLayout('p/', 'a/b');
  for (const k of ['p/a/b/manifest', 'p/a/b/resume', 'p/a/b/lock', 'p/a/b/chunks/00000000']) assert.ok(belongsToStream(l, k), k);
  for (const k of ['p/a/b/c/manifest', 'p/a/b/c/chunks/00000000', 'p/a/bc/manifest', 'p/a/manifest', 'a/b/manifest']) assert.ok(!belongsToStream(l, k), k);
});

test('roffText: backslashes, hyphens and request-like line starts are escaped', () => {
  assert.equal(roffText('--key file:\\x'), '\\-\\-key file:\\ex');
  assert.equal(roffText('.TH evil\n\'also'), '\\&.TH evil\n\\&\'also');
  assert.equal(roffText('s3d-… ü'), 's3d\\-\\[u2026] \\[u00FC]');
});
