import { Decrypter, Encrypter } from 'age-encryption';
import { authError, integrityError } from '../errors.js';
import type { AgeKeys } from './age-keys.js';
import { ageHeaderLength, type AgeStreamKey } from './age-payload.js';

/**
 * age headers through the age-encryption package (stanzas, X25519, ML-KEM-768 + X25519,
 * scrypt, the header MAC); the payload is ours (age-payload.ts). Loaded only for age streams:
 * the package and its post-quantum code take ~0.2 s to import.
 */

/**
 * A fresh file key and the header wrapping it for `keys`. The package draws the file key
 * itself; for recipients a stanza-less extra recipient observes it, for a passphrase (the
 * package allows nothing beside scrypt) the header is unwrapped once more.
 */
export async function newAgeStreamKey(keys: AgeKeys): Promise<AgeStreamKey> {
  const e = new Encrypter();
  let observed: Uint8Array | undefined;
  if (keys.kind === 'passphrase') e.setPassphrase(keys.passphrase);
  else {
    for (const r of keys.recipients) e.addRecipient(r);
    e.addRecipient({ wrapFileKey: (k) => ((observed = k), []) });
  }
  const empty = await readToEnd(await e.encrypt(new ReadableStream<Uint8Array>({ start: (c) => c.close() })));
  const header = empty.subarray(0, ageHeaderLength(empty, 'new age header'));
  const fileKey = observed ?? (await unwrapAgeFileKey(header, keys, 'new age header'));
  return { header: Buffer.from(header), fileKey: Buffer.from(fileKey) };
}

/**
 * Reads a (tiny) web stream with its reader. Not `encrypt(Uint8Array)`: that path reads
 * through undici's Response, and after it this process's put ran ~25 old-space GCs per
 * 128 MiB instead of none (measured: +20% CPU on a whole put).
 */
async function readToEnd(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(Buffer.from(r.value));
  return Buffer.concat(parts);
}

/** Unwraps the file key of `header` with the user's identities or passphrase. */
export async function unwrapAgeFileKey(header: Buffer, keys: AgeKeys, what: string): Promise<Buffer> {
  const d = new Decrypter();
  if (keys.kind === 'passphrase') d.addPassphrase(keys.passphrase);
  else for (const i of keys.identities) d.addIdentity(i);
  try {
    return Buffer.from(await d.decryptHeader(header));
  } catch (e: any) {
    const msg = String(e?.message ?? e);
    if (/no identity matched/.test(msg)) {
      const scrypt = header.includes('\n-> scrypt ');
      if (scrypt && keys.kind !== 'passphrase') throw authError(`${what}: no identity matches: the stream is passphrase-encrypted; give --age-passphrase-env`);
      if (!scrypt && keys.kind === 'passphrase') throw authError(`${what}: no identity matches: the stream is encrypted to age recipients; give --age-identity`);
      throw authError(`${what}: no identity matches this stream's recipients${keys.kind === 'passphrase' ? ' (wrong passphrase)' : ''}`);
    }
    if (/HMAC/.test(msg)) throw integrityError(`${what}: age header MAC does not verify (header modified)`);
    throw integrityError(`${what}: invalid age header (${msg})`);
  }
}
