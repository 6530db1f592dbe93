import type { KdfParams } from '../profile/profile-format.js';

/**
 * The 32-byte key a password stands for, by Argon2id with the profile's stored salt and
 * parameters. argon2 (a native module) is imported here only, so commands that never open a
 * profile do not load it.
 */
export async function passwordKey(password: string, kdf: KdfParams): Promise<Buffer> {
  const argon2 = await import('argon2');
  const a = (argon2 as any).default ?? argon2;
  return a.hash(password, {
    type: a.argon2id,
    raw: true,
    hashLength: 32,
    salt: Buffer.from(kdf.salt, 'base64'),
    memoryCost: kdf.memoryKiB,
    timeCost: kdf.iterations,
    parallelism: kdf.parallelism,
  });
}
