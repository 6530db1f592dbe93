import { warnIfOthersCanRead } from '../ui/secret-file.js';
import { readFileSync } from 'node:fs';
import type { Protection } from '../crypto/stream-codec.js';
import { usageError } from '../errors.js';
import { anyAgeOption, type RawAgeOptions } from './common-options.js';

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

/**
 * Reads a 32-byte key from `hex:…`, `file:PATH` (32 raw bytes, or 64 hex digits) or
 * `env:NAME` (64 hex digits). Errors name the source, never the key material.
 */
export function readKey(spec: string): Buffer {
  const i = spec.indexOf(':');
  const kind = i < 0 ? '' : spec.slice(0, i);
  const arg = i < 0 ? '' : spec.slice(i + 1);
  const fromHex = (text: string, where: string) => {
    const t = text.trim();
    if (!HEX_KEY.test(t)) throw usageError(`${where}: a key must be 64 hex digits (32 bytes); generate one with: openssl rand -hex 32`);
    return Buffer.from(t, 'hex');
  };
  switch (kind) {
    case 'hex':
      return fromHex(arg, '--key hex:…');
    case 'env': {
      if (!arg) throw usageError('--key env: needs the name of an environment variable, e.g. --key env:BACKUP_KEY');
      const v = process.env[arg];
      if (v === undefined || v === '') throw usageError(`--key env:${arg}: environment variable ${arg} is not set`);
      return fromHex(v, `--key env:${arg}`);
    }
    case 'file': {
      let raw: Buffer;
      try {
        raw = readFileSync(arg);
      } catch (e: any) {
        throw usageError(`--key file:${arg}: cannot read key file (${e?.code ?? e?.message})`);
      }
      const key = raw.length === 32 ? raw : fromHex(raw.toString('latin1'), `--key file:${arg}`);
      warnIfOthersCanRead(arg, 'key file');
      return key;
    }
    default:
      throw usageError('--key (or S3DUCT_KEY) must be hex:<64 hex digits>, file:<path> or env:<variable>');
  }
}

/** The protection the options ask for: at most one of --key, the age options, or none. */
export async function protectionFrom(opts: { key?: string; encrypt?: boolean } & RawAgeOptions, verb: 'put' | 'get'): Promise<Protection> {
  const age = anyAgeOption(opts);
  const off = verb === 'put' ? '--no-encrypt' : '--no-decrypt';
  if (opts.key !== undefined && age) throw usageError('--key and the --age-… options contradict each other; give one');
  if ((opts.key !== undefined || age) && opts.encrypt === false) throw usageError(`${age ? 'the --age-… options' : '--key'} and ${off} contradict each other; give one`);
  if (age) {
    const { ageKeysFrom } = await import('./age-source.js'); // loads age-encryption only when needed
    return { mode: 'age', keys: (await ageKeysFrom(opts, verb))! };
  }
  return opts.key !== undefined ? { mode: 'aes-256-gcm', key: readKey(opts.key) } : { mode: 'none' };
}
