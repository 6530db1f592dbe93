import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { hkdf } from '../crypto/kdf.js';
import { authError, integrityError, usageError } from '../errors.js';

/**
 * The profile file (docs/PROFILE.md): non-secret settings in clear, the secrets sealed with
 * AES-256-GCM under a key derived from the user's password, the clear part bound as
 * additional data so that no field can be changed unnoticed. Pure: no I/O, no KDF call.
 */
export const PROFILE_FORMAT = 's3duct-profile';
export const PROFILE_VERSION = 1;

/** Where the backups go and how: everything a command needs besides the secrets. */
export interface ProfileSettings {
  /** `file:DIR` or `s3://BUCKET[/PREFIX]`; or give bucket (+ prefix) below. */
  readonly store?: string;
  readonly bucket?: string;
  readonly prefix?: string;
  readonly endpointUrl?: string;
  readonly region?: string;
  /** Default storage class of chunk objects for put. */
  readonly storageClass?: string;
}

export interface KdfParams {
  readonly name: 'argon2id';
  /** KiB, as argon2's memoryCost. */
  readonly memoryKiB: number;
  readonly iterations: number;
  readonly parallelism: number;
  /** base64, 16 bytes. */
  readonly salt: string;
}

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface ProfileSecrets {
  /** 32 bytes: every stream's keys derive from it and the stream's random id. */
  readonly masterKey: Buffer;
  readonly credentials?: S3Credentials;
}

export interface ProfileDocument {
  readonly format: typeof PROFILE_FORMAT;
  readonly version: typeof PROFILE_VERSION;
  readonly settings: ProfileSettings;
  readonly kdf: KdfParams;
  readonly secret: {
    readonly cipher: 'aes-256-gcm';
    /** base64 of HKDF(passwordKey, "", "s3duct/v1/profile-check", 16): says "wrong password"
     *  apart from "tampered" without a decryption attempt. */
    readonly check: string;
    /** base64, 12 bytes. */
    readonly nonce: string;
    /** base64 of ciphertext || 16-byte tag. */
    readonly sealed: string;
  };
}

/** At least the issue's floor (m = 64 MiB, t = 3); p = 4 costs ~120 ms here. */
export const DEFAULT_KDF = { memoryKiB: 64 * 1024, iterations: 3, parallelism: 4 } as const;
/** Refused on read: parameters an attacker could raise to make opening a profile hang. */
const MAX_MEMORY_KIB = 4 * 1024 * 1024;
const MAX_ITERATIONS = 64;

export function newKdfParams(p: { memoryKiB: number; iterations: number; parallelism: number } = DEFAULT_KDF): KdfParams {
  return { name: 'argon2id', ...p, salt: randomBytes(16).toString('base64') };
}

const SETTING_FIELDS = ['store', 'bucket', 'prefix', 'endpointUrl', 'region', 'storageClass'] as const;

/** JSON with sorted keys and no whitespace: the AAD does not depend on how the file is laid
 *  out, so an exported-and-imported profile (reformatted) still opens. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .filter((k) => (v as any)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as any)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

function additionalData(doc: Pick<ProfileDocument, 'format' | 'version' | 'settings' | 'kdf'>): Buffer {
  return Buffer.from(canonicalJson({ format: doc.format, version: doc.version, settings: doc.settings, kdf: doc.kdf }), 'utf8');
}

interface SealingKeys {
  readonly enc: Buffer;
  readonly check: Buffer;
}

/** `passwordKey` is the 32-byte Argon2id output; the two uses get separate subkeys. */
function sealingKeys(passwordKey: Buffer): SealingKeys {
  return { enc: hkdf(passwordKey, Buffer.alloc(0), 'profile-seal'), check: hkdf(passwordKey, Buffer.alloc(0), 'profile-check', 16) };
}

function encodeSecrets(s: ProfileSecrets): Buffer {
  return Buffer.from(JSON.stringify({ masterKey: s.masterKey.toString('hex'), ...(s.credentials ? { credentials: s.credentials } : {}) }), 'utf8');
}

function decodeSecrets(plain: Buffer, what: string): ProfileSecrets {
  const bad = () => integrityError(`${what}: the decrypted secrets are malformed`);
  let v: any;
  try {
    v = JSON.parse(plain.toString('utf8'));
  } catch {
    throw bad();
  }
  if (typeof v?.masterKey !== 'string' || !/^[0-9a-f]{64}$/.test(v.masterKey)) throw bad();
  const c = v.credentials;
  if (c !== undefined && (typeof c?.accessKeyId !== 'string' || typeof c?.secretAccessKey !== 'string')) throw bad();
  return { masterKey: Buffer.from(v.masterKey, 'hex'), ...(c ? { credentials: c } : {}) };
}

export function sealProfile(settings: ProfileSettings, kdf: KdfParams, secrets: ProfileSecrets, passwordKey: Buffer): ProfileDocument {
  const keys = sealingKeys(passwordKey);
  const clear = { format: PROFILE_FORMAT, version: PROFILE_VERSION, settings: cleanSettings(settings), kdf } as const;
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', keys.enc, nonce);
  c.setAAD(additionalData(clear));
  const sealed = Buffer.concat([c.update(encodeSecrets(secrets)), c.final(), c.getAuthTag()]);
  return {
    ...clear,
    secret: { cipher: 'aes-256-gcm', check: keys.check.toString('base64'), nonce: nonce.toString('base64'), sealed: sealed.toString('base64') },
  };
}

/** Wrong password: exit 8. A changed field (or a damaged file): exit 4. */
export function openProfile(doc: ProfileDocument, passwordKey: Buffer, what: string): ProfileSecrets {
  const keys = sealingKeys(passwordKey);
  const check = Buffer.from(doc.secret.check, 'base64');
  if (check.length !== keys.check.length || !timingSafeEqual(check, keys.check)) throw authError(`${what}: wrong password`);
  const sealed = Buffer.from(doc.secret.sealed, 'base64');
  if (sealed.length < 16) throw integrityError(`${what}: the sealed secrets are truncated`);
  const d = createDecipheriv('aes-256-gcm', keys.enc, Buffer.from(doc.secret.nonce, 'base64'));
  d.setAAD(additionalData(doc));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  let plain: Buffer;
  try {
    plain = Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
  } catch {
    throw integrityError(`${what}: the profile was modified or damaged (authentication failed); restore it from your copy`);
  }
  return decodeSecrets(plain, what);
}

function cleanSettings(s: ProfileSettings): ProfileSettings {
  const out: Record<string, string> = {};
  for (const k of SETTING_FIELDS) if (s[k] !== undefined && s[k] !== '') out[k] = s[k]!;
  return out;
}

/** Structural checks of a profile file's text; crypto checks happen in openProfile. */
export function parseProfileDocument(text: string, what: string): ProfileDocument {
  let v: any;
  try {
    v = JSON.parse(text);
  } catch {
    throw integrityError(`${what}: not a valid profile (not JSON)`);
  }
  if (v?.format !== PROFILE_FORMAT) throw integrityError(`${what}: not an s3duct profile`);
  // Only a later version number asks for an upgrade; a missing or odd one is damage.
  if (!Number.isSafeInteger(v.version) || v.version < 1) throw integrityError(`${what}: profile field "version" is missing or invalid`);
  if (v.version !== PROFILE_VERSION) throw usageError(`${what}: profile version ${v.version} is not supported by this s3duct; upgrade`);
  const bad = (f: string) => integrityError(`${what}: profile field "${f}" is missing or invalid`);
  const s = v.settings;
  if (!s || typeof s !== 'object' || Array.isArray(s)) throw bad('settings');
  for (const k of Object.keys(s)) if (!(SETTING_FIELDS as readonly string[]).includes(k) || typeof s[k] !== 'string') throw bad(`settings.${k}`);
  const k = v.kdf;
  if (k?.name !== 'argon2id') throw bad('kdf.name');
  if (!Number.isSafeInteger(k.memoryKiB) || k.memoryKiB < 8 * 1024 || k.memoryKiB > MAX_MEMORY_KIB) throw bad('kdf.memoryKiB');
  if (!Number.isSafeInteger(k.iterations) || k.iterations < 1 || k.iterations > MAX_ITERATIONS) throw bad('kdf.iterations');
  if (!Number.isSafeInteger(k.parallelism) || k.parallelism < 1 || k.parallelism > 64) throw bad('kdf.parallelism');
  if (typeof k.salt !== 'string' || Buffer.from(k.salt, 'base64').length !== 16) throw bad('kdf.salt');
  const sec = v.secret;
  if (sec?.cipher !== 'aes-256-gcm') throw bad('secret.cipher');
  for (const f of ['check', 'nonce', 'sealed']) if (typeof sec[f] !== 'string') throw bad(`secret.${f}`);
  if (Buffer.from(sec.nonce, 'base64').length !== 12) throw bad('secret.nonce');
  return v as ProfileDocument;
}

export function serializeProfile(doc: ProfileDocument): string {
  return JSON.stringify(doc, null, 2) + '\n';
}
