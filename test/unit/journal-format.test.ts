import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeChunk, encodeHeader, parseJournal, resumeMismatch, type JournalHeader } from '../../src/resume/journal-format.js';

const header: JournalHeader = {
  journal: 's3duct-resume', version: 1, streamId: '00'.repeat(16), location: 'file:/x', prefix: '', name: 'n',
  chunkSize: 10, encryption: 'aes-256-gcm', keyId: 'ab', storageClass: 'STANDARD', createdAt: '',
};
const h = '0'.repeat(64);
const chunk = (index: number) => ({ index, size: 10, storedSize: 90, sha256: h, sha3_256: h, chain: h, last: false });

test('a torn last line (crash mid-append) is dropped; a gap ends the records', () => {
  const text = encodeHeader(header) + encodeChunk(chunk(0)) + encodeChunk(chunk(1)) + encodeChunk(chunk(2)).slice(0, 20);
  assert.equal(parseJournal(text)!.chunks.length, 2);
  assert.equal(parseJournal(encodeHeader(header) + encodeChunk(chunk(0)) + encodeChunk(chunk(2)))!.chunks.length, 1);
  assert.equal(parseJournal('garbage'), null);
});

test('resume identity: any difference that would make the stream unrestorable, or mixed, is named', () => {
  const same = { location: 'file:/x', prefix: '', name: 'n', chunkSize: 10, encryption: 'aes-256-gcm', keyId: 'ab', storageClass: 'STANDARD' };
  assert.equal(resumeMismatch(header, same), null);
  assert.match(resumeMismatch(header, { ...same, keyId: 'cd' })!, /different key/);
  assert.match(resumeMismatch(header, { ...same, chunkSize: 11 })!, /chunk-size/);
  assert.match(resumeMismatch(header, { ...same, encryption: 'none', keyId: null })!, /encryption/);
  assert.match(resumeMismatch(header, { ...same, location: 's3://other' })!, /writing to/);
  assert.match(resumeMismatch(header, { ...same, storageClass: 'GLACIER' })!, /--storage-class STANDARD \(this put: GLACIER\)/);
  // Tags are compared once the journal records them (older journals do not).
  const tagged = { ...header, tags: { owner: 'alice' } };
  assert.equal(resumeMismatch(tagged, { ...same, tags: { owner: 'alice' } }), null);
  assert.match(resumeMismatch(tagged, { ...same, tags: { owner: 'bob' } })!, /other --tag values \(owner=alice; this put: owner=bob\)/);
  assert.equal(resumeMismatch(header, { ...same, tags: { owner: 'bob' } }), null);
});
