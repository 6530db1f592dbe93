import { protectionFrom } from '../cli/key-source.js';
import { anyAgeOption, storeSpecFrom, type RawAgeOptions, type RawStoreOptions } from '../cli/common-options.js';
import type { Protection } from '../crypto/stream-codec.js';
import { usageError } from '../errors.js';
import type { PasswordOptions } from '../profile/password-source.js';
import { profileExists, profileNamed, profilePath } from '../profile/profile-file.js';
import { unlockProfile } from '../profile/unlock.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';

/** The flags every stream command takes to say where the streams are and how to open them. */
export interface TargetOptions extends RawStoreOptions, PasswordOptions, RawAgeOptions {
  key?: string;
  profile?: string;
  /** put's --no-encrypt / get's --no-decrypt, as commander reports them (false when given). */
  encrypt?: boolean;
  /** put --private-names: opaque object keys without a profile. */
  privateNames?: boolean;
}

/** Where a command works and with which key, whether from a profile or from flags. */
export interface Target {
  readonly store: Store;
  readonly prefix: string;
  readonly protection: Protection;
  /** Streams are stored under opaque ids; names are resolved by reading manifests. */
  readonly privateNames: boolean;
  /** The profile's default storage class for put, if any. */
  readonly storageClass?: string;
  /** Path of the profile in use, for messages. */
  readonly profile?: string;
}

/**
 * Profile mode when a profile is named (--profile or S3DUCT_PROFILE), or when no store and
 * no key are given on the command line and the default profile exists. A profile brings the
 * store, the master key and private names; mixing it with store or key flags is refused so
 * that it is never unclear which bucket or key a backup went to.
 */
export async function openTarget(o: TargetOptions, verb: 'put' | 'get' | 'read', uploadSlots?: number): Promise<Target> {
  const file = profilePath(o.profile);
  const flagged = !!(o.store || o.bucket || o.key || anyAgeOption(o));
  const useProfile = profileNamed(o.profile) || (!flagged && (await profileExists(file)));
  if (!useProfile) {
    // A password only unlocks a profile: ignoring it would run without the profile, and so
    // without its key (a put would store plaintext) where the user meant to use it.
    const option = o.passwordStdin ? '--password-stdin' : o.passwordEnv !== undefined ? '--password-env' : undefined;
    if (option && flagged)
      throw usageError(`${option} unlocks a profile, but the store or key flags given (or their S3DUCT_* variables) mean no profile is used: drop them to use the profile, or drop the password option`);
    if (option) throw usageError(`${option} unlocks a profile, and there is none at ${file}: create one with s3duct init, or name one with --profile`);
    const { store, prefix } = await openStore(storeSpecFrom(o, uploadSlots));
    const protection = await protectionFrom(o, verb === 'put' ? 'put' : 'get');
    if (o.privateNames && protection.mode === 'none') throw usageError('--private-names needs encryption: give --key (names live in the encrypted manifest)');
    return { store, prefix, protection, privateNames: !!o.privateNames };
  }
  const clash = (['store', 'bucket', 'prefix', 'endpointUrl', 'region', 'key'] as const).filter((k) => o[k] !== undefined);
  if (clash.length)
    throw usageError(`the profile ${file} sets the store and key; drop ${clash.map((k) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())).join(', ')} (or their S3DUCT_* variables)`);
  if (verb === 'put' && o.encrypt === false) throw usageError('a profile always encrypts; --no-encrypt cannot be used with it');
  const p = await unlockProfile(file, o);
  const s = p.document.settings;
  const { store, prefix } = await openStore({
    ...storeSpecFrom({ ...o, store: s.store, bucket: s.bucket, prefix: s.prefix, endpointUrl: s.endpointUrl, region: s.region }, uploadSlots),
    credentials: p.credentials,
  });
  return { store, prefix, protection: { mode: 'aes-256-gcm', key: p.masterKey }, privateNames: true, storageClass: s.storageClass, profile: file };
}
