import { warnIfOthersCanRead } from '../ui/secret-file.js';
import { readFileSync } from 'node:fs';
import { Decrypter, Encrypter, identityToRecipient } from 'age-encryption';
import type { AgeKeys } from '../crypto/age-keys.js';
import { usageError } from '../errors.js';
import { anyAgeOption, type RawAgeOptions } from './common-options.js';

interface Line {
  readonly text: string;
  readonly where: string;
}

/** Non-blank, non-comment lines of an age key file (the format `age -i` / `age -R` read). */
function keyFileLines(file: string, option: string, what: string): Line[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e: any) {
    throw usageError(`${option} ${file}: cannot read ${what} file (${e?.code ?? e?.message})`);
  }
  const lines = text
    .split(/\r?\n/)
    .map((t, i) => ({ text: t.trim(), where: `${option} ${file} line ${i + 1}` }))
    .filter((l) => l.text !== '' && !l.text.startsWith('#'));
  if (!lines.length) throw usageError(`${option} ${file}: no ${what === 'identity' ? 'identities' : `${what}s`} in the file`);
  return lines;
}

const UNSUPPORTED: ReadonlyArray<readonly [RegExp, string]> = [
  [/^(-----BEGIN AGE ENCRYPTED FILE-----|age-encryption\.org\/)/, 'passphrase-protected identity files are not supported; decrypt it first (age -d)'],
  [/^AGE-PLUGIN-|^age1[a-z0-9]*1/, 'age plugins are not supported'],
  [/^(ssh-|-----BEGIN OPENSSH|-----BEGIN RSA)/, 'SSH keys are not supported; use an age key (age-keygen)'],
];

function unsupported(l: Line): void {
  for (const [re, why] of UNSUPPORTED) if (re.test(l.text)) throw usageError(`${l.where}: ${why}`);
}

/** Checks one identity without ever echoing it (it is a secret key). */
function checkIdentity(l: Line): string {
  unsupported(l);
  try {
    new Decrypter().addIdentity(l.text);
    return l.text;
  } catch {
    throw usageError(`${l.where}: not a valid age identity (expected AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1…)`);
  }
}

const X25519_OR_PQ = /^age1(pq1)?[02-9ac-hj-np-z]+$/;

/** A bad recipient is never echoed: what was typed there may be a secret (an identity, a
 *  password), and even a few of its characters must not reach a terminal or a log. */
function checkRecipient(l: Line): string {
  const invalid = () => usageError(`${l.where}: not a valid age recipient (expected age1… or age1pq1…)`);
  if (/^AGE-SECRET-KEY-/i.test(l.text)) throw usageError(`${l.where}: this is an age identity (a secret key), not a recipient; give its file with --age-identity`);
  if (!X25519_OR_PQ.test(l.text)) {
    unsupported(l);
    throw invalid();
  }
  try {
    new Encrypter().addRecipient(l.text);
  } catch {
    throw invalid();
  }
  return l.text;
}

function readIdentities(files: readonly string[]): string[] {
  return files.flatMap((f) => {
    const identities = keyFileLines(f, '--age-identity', 'identity').map(checkIdentity);
    warnIfOthersCanRead(f, 'age identity file'); // once it holds identities: a bad file is the error
    return identities;
  });
}

function readPassphrase(variable: string): string {
  const v = process.env[variable];
  if (v === undefined || v === '') throw usageError(`--age-passphrase-env ${variable}: environment variable ${variable} is not set`);
  return v;
}

/**
 * The age keys the options name, or undefined when none is given. put encrypts to every
 * recipient given directly, in recipients files, and derived from identity files; get needs
 * identities (or the passphrase).
 */
export async function ageKeysFrom(o: RawAgeOptions, verb: 'put' | 'get'): Promise<AgeKeys | undefined> {
  if (!anyAgeOption(o)) return undefined;
  if (o.agePassphraseEnv) {
    if (o.ageRecipient?.length || o.ageRecipientsFile?.length || o.ageIdentity?.length)
      throw usageError('--age-passphrase-env cannot be combined with age recipients or identities (age allows a passphrase only alone)');
    return { kind: 'passphrase', passphrase: readPassphrase(o.agePassphraseEnv) };
  }
  const identities = readIdentities(o.ageIdentity ?? []);
  if (verb === 'get') {
    if (!identities.length) throw usageError('get needs --age-identity FILE to open an age stream');
    return { kind: 'public-key', recipients: [], identities };
  }
  const given = [
    ...(o.ageRecipient ?? []).map((r, i) => checkRecipient({ text: r.trim(), where: `--age-recipient #${i + 1}` })),
    ...(o.ageRecipientsFile ?? []).flatMap((f) => keyFileLines(f, '--age-recipients-file', 'recipient').map(checkRecipient)),
  ];
  const derived = await Promise.all(identities.map((i) => identityToRecipient(i)));
  return { kind: 'public-key', recipients: [...new Set([...given, ...derived])], identities };
}
