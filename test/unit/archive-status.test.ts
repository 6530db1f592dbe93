import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { aggregateStatus, chunkStateOf, type ChunkState, type ChunkStatus } from '../../src/archive/chunk-status.js';
import { DEFAULT_PRICES, mergePrices, tiersOffered } from '../../src/archive/prices.js';
import { planRestore } from '../../src/archive/restore-plan.js';
import { commandHint, restoreCommandHint } from '../../src/commands/thaw-flow.js';
import { formatTable } from '../../src/commands/list.js';
import { S3ductError } from '../../src/errors.js';
import { listedRestore } from '../../src/store/s3-store.js';
import type { ObjectInfo } from '../../src/store/store.js';
import { parseDuration } from '../../src/units.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const info = (storageClass: string, restore: ObjectInfo['restore']): ObjectInfo => ({ key: 'k', size: 1, storageClass, restore });
const chunks = (cls: string, ...states: ChunkState[]): ChunkStatus[] =>
  states.map((state, index) => ({ index, key: `c/${index}`, storageClass: cls, size: 1024 ** 3, state }));

describe('chunk state', () => {
  test('from HEAD: class and restore header', () => {
    assert.deepEqual(chunkStateOf(null, NOW), { kind: 'missing' });
    assert.deepEqual(chunkStateOf(info('STANDARD', { state: 'none' }), NOW), { kind: 'readable' });
    assert.deepEqual(chunkStateOf(info('GLACIER_IR', { state: 'none' }), NOW), { kind: 'readable' });
    assert.deepEqual(chunkStateOf(info('DEEP_ARCHIVE', { state: 'none' }), NOW), { kind: 'archived' });
    assert.deepEqual(chunkStateOf(info('GLACIER', { state: 'ongoing' }), NOW), { kind: 'restoring' });
    const later = new Date('2026-06-02T00:00:00Z');
    assert.deepEqual(chunkStateOf(info('DEEP_ARCHIVE', { state: 'restored', expiry: later }), NOW), { kind: 'restored', expiry: later });
    const earlier = new Date('2026-05-31T00:00:00Z');
    assert.deepEqual(chunkStateOf(info('DEEP_ARCHIVE', { state: 'restored', expiry: earlier }), NOW), { kind: 'archived', expired: earlier });
    assert.equal(chunkStateOf(info('DEEP_ARCHIVE', { state: 'unreported' }), NOW).kind, 'unknown');
  });

  test('from a listing: absent RestoreStatus on an archived object is unreported, not "none"', () => {
    assert.deepEqual(listedRestore('STANDARD', undefined), { state: 'none' });
    assert.deepEqual(listedRestore('DEEP_ARCHIVE', undefined), { state: 'unreported' });
    assert.deepEqual(listedRestore('GLACIER', { IsRestoreInProgress: true }), { state: 'ongoing' });
    const d = new Date('2030-01-01T00:00:00Z');
    assert.deepEqual(listedRestore('GLACIER', { IsRestoreInProgress: false, RestoreExpiryDate: d }), { state: 'restored', expiry: d });
  });
});

describe('stream status', () => {
  const exp1 = new Date('2026-06-03T00:00:00Z');
  const exp2 = new Date('2026-06-02T00:00:00Z');
  const cases: Array<[string, ChunkStatus[], string, number, RegExp]> = [
    ['all standard', chunks('STANDARD', { kind: 'readable' }, { kind: 'readable' }), 'readable', 0, /^readable: all 2 chunks readable now \(STANDARD\)$/],
    ['all restored: earliest expiry', chunks('DEEP_ARCHIVE', { kind: 'restored', expiry: exp1 }, { kind: 'restored', expiry: exp2 }), 'restored', 0, /until 2026-06-02T00:00:00.000Z/],
    ['some restoring', chunks('DEEP_ARCHIVE', { kind: 'restored' }, { kind: 'restoring' }), 'restoring', 2, /^restoring: restore in progress, 1 of 2 chunks readable$/],
    ['archived beats restoring', chunks('GLACIER', { kind: 'archived' }, { kind: 'restoring' }), 'archived', 2, /^archived: 1 of 2 chunks \(GLACIER\) need a restore, 1 restoring; 0 readable$/],
    ['expired copies are named', chunks('GLACIER', { kind: 'archived', expired: exp1 }), 'archived', 2, /1 restored copy has expired/],
    ['unknown beats archived', chunks('GLACIER', { kind: 'archived' }, { kind: 'unknown', reason: 'x' }), 'unknown', 1, /^unknown: the state of 1 of 2 chunks/],
    ['missing beats all', chunks('GLACIER', { kind: 'unknown', reason: 'x' }, { kind: 'missing' }), 'missing', 5, /^missing: 1 of 2 chunks are not in the store/],
  ];
  for (const [label, cs, word, code, line] of cases)
    test(label, () => {
      const s = aggregateStatus(cs);
      assert.equal(s.word, word);
      assert.equal(s.exitCode, code);
      assert.match(s.line, line);
    });
});

describe('restore plan', () => {
  test('requests only archived chunks; counts restoring and readable; prices by class and tier', () => {
    const cs = [
      ...chunks('DEEP_ARCHIVE', { kind: 'archived' }, { kind: 'archived' }, { kind: 'restoring' }, { kind: 'restored' }),
      { index: 4, key: 'c/4', storageClass: 'GLACIER_IR', size: 5, state: { kind: 'readable' } as const },
    ];
    const p = planRestore(cs, 'Bulk', 30, DEFAULT_PRICES);
    assert.deepEqual(p.toRestore.map((c) => c.index), [0, 1]);
    assert.equal(p.restoring, 1);
    assert.equal(p.readable, 2);
    assert.equal(p.bytes, 2 * 1024 ** 3);
    const dc = p.byClass[0]!;
    assert.equal(dc.storageClass, 'DEEP_ARCHIVE');
    assert.ok(Math.abs(dc.retrievalCost - 2 * 0.0025) < 1e-12);
    assert.ok(Math.abs(dc.requestCost - (2 / 1000) * 0.025) < 1e-12);
    assert.ok(Math.abs(p.copyCost - 2 * 0.023) < 1e-12);
    assert.ok(Math.abs(p.estimatedCost - (dc.retrievalCost + dc.requestCost + p.copyCost)) < 1e-12);
  });

  test('Expedited is refused for DEEP_ARCHIVE before anything is planned, allowed for GLACIER', () => {
    assert.deepEqual(tiersOffered(DEFAULT_PRICES, 'DEEP_ARCHIVE').sort(), ['Bulk', 'Standard']);
    assert.throws(() => planRestore(chunks('DEEP_ARCHIVE', { kind: 'restored' }), 'Expedited', 1, DEFAULT_PRICES), (e: any) => e instanceof S3ductError && e.exitCode === 3 && /not offered for DEEP_ARCHIVE/.test(e.message));
    assert.equal(planRestore(chunks('GLACIER', { kind: 'archived' }), 'Expedited', 1, DEFAULT_PRICES).toRestore.length, 1);
  });

  test('a user price file overrides only what it names, and bad values are usage errors', () => {
    const t = mergePrices(DEFAULT_PRICES, { currency: 'EUR', classes: { DEEP_ARCHIVE: { Bulk: { perGB: 1 } } } });
    assert.equal(t.currency, 'EUR');
    assert.equal(t.classes.DEEP_ARCHIVE!.Bulk!.perGB, 1);
    assert.equal(t.classes.DEEP_ARCHIVE!.Bulk!.per1000Requests, DEFAULT_PRICES.classes.DEEP_ARCHIVE!.Bulk!.per1000Requests);
    assert.equal(t.classes.GLACIER, DEFAULT_PRICES.classes.GLACIER);
    assert.throws(() => mergePrices(DEFAULT_PRICES, { classes: { GLACIER: { Bulk: { perGB: -1 } } } }), /non-negative/);
    assert.throws(() => mergePrices(DEFAULT_PRICES, { classes: { GLACIER: { Fast: {} } } }), /unknown tier/);
  });
});

describe('restore helpers', () => {
  test('durations', () => {
    assert.equal(parseDuration('90', 'x'), 90_000);
    assert.equal(parseDuration('10m', 'x'), 600_000);
    assert.equal(parseDuration('1.5h', 'x'), 5_400_000);
    assert.throws(() => parseDuration('soon', 'x'), /invalid x/);
  });

  test('the suggested restore command: typed options, never an inline key, shell-quoted', () => {
    const o = { store: 's3://b/p q', region: 'eu-west-1', key: 'hex:' + 'a'.repeat(64), retries: '2', checksumMode: 'when_supported' as const };
    const hint = restoreCommandHint('host/daily', o, new Set(['region']));
    assert.equal(hint, "s3duct restore host/daily --store 's3://b/p q' --key 'hex:<your key>' --wait");
    assert.equal(restoreCommandHint('a', { ...o, key: 'file:/k' }, new Set(['store', 'region'])), 's3duct restore a --key file:/k --wait');
    // restore's own hint (check with head) names the same store and key.
    assert.equal(commandHint(['head', 'a'], { ...o, key: 'env:K' }, new Set(['region'])), "s3duct head a --store 's3://b/p q' --key env:K");
    // A profile's path and password variable (never the password) come along too.
    assert.equal(commandHint(['head', 'a'], { retries: '2', checksumMode: 'when_supported', profile: '/p/f.json', passwordEnv: 'PW' }, new Set()), 's3duct head a --profile /p/f.json --password-env PW');
  });

  test('list table: aligned columns, numbers right-aligned, notes after encryption', () => {
    const out = formatTable([
      { name: 'a', path: 'a', size: 2048, chunks: 12, createdAt: '2026-01-02T03:04:05Z', storageClass: 'DEEP_ARCHIVE', status: 'archived', encryption: 'aes-256-gcm' },
      { name: 'longer/name', path: 'longer/name', status: 'readable', encryption: 'aes-256-gcm', note: 'encrypted; give --key to see details' },
    ]);
    assert.equal(
      out,
      [
        'NAME             SIZE  CHUNKS  CREATED           CLASS         STATUS    ENCRYPTION',
        'a            2.00 KiB      12  2026-01-02 03:04  DEEP_ARCHIVE  archived  aes-256-gcm',
        'longer/name         -       -  -                 -             readable  aes-256-gcm (encrypted; give --key to see details)',
        '',
      ].join('\n'),
    );
  });

  test('list table: streams under ids (private names) get an ID column first', () => {
    const out = formatTable([
      { name: 'host/daily', path: 's3d-aaaa', size: 10, chunks: 1, status: 'readable', encryption: 'aes-256-gcm' },
      { name: 'host/daily', path: 's3d-bbbbbb', size: 2048, chunks: 1, status: 'readable', encryption: 'aes-256-gcm' },
    ]);
    assert.deepEqual(out.split('\n').slice(0, 3), [
      'ID          NAME            SIZE  CHUNKS  CREATED  CLASS  STATUS    ENCRYPTION',
      's3d-aaaa    host/daily      10 B       1  -        -      readable  aes-256-gcm',
      's3d-bbbbbb  host/daily  2.00 KiB       1  -        -      readable  aes-256-gcm',
    ]);
  });
});
