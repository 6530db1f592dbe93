import { checkNewPrefix, normalizePrefix } from '../format/layout.js';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { passwordKey } from '../crypto/password-key.js';
import { conflictError, notFoundError, usageError } from '../errors.js';
import { parseStorageClass } from '../format/storage-class.js';
import { readPassword, type PasswordOptions } from '../profile/password-source.js';
import { newKdfParams, sealProfile, serializeProfile, type ProfileSettings, type S3Credentials } from '../profile/profile-format.js';
import { profileExists, profilePath, writeProfileText } from '../profile/profile-file.js';
import { unlockProfile } from '../profile/unlock.js';
import { warn } from '../ui/log.js';
import { checkEndpoint } from '../cli/common-options.js';

export interface InitOptions extends PasswordOptions {
  profile?: string;
  /** -q: no success line (the warning to keep a copy of the profile still shows). */
  quiet?: boolean;
  reinit?: boolean;
  store?: string;
  bucket?: string;
  prefix?: string;
  endpointUrl?: string;
  region?: string;
  storageClass?: string;
  saveCredentials?: boolean;
  dropCredentials?: boolean;
  newPasswordEnv?: string;
}

const LOCATION_FIELDS = ['store', 'bucket', 'prefix', 'endpointUrl', 'region'] as const;

/** The S3 credentials of the environment, to be sealed into the profile (--save-credentials). */
function credentialsFromEnv(): S3Credentials {
  const { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: token } = process.env;
  if (!id || !secret) throw usageError('--save-credentials takes the credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: set both');
  return { accessKeyId: id, secretAccessKey: secret, ...(token ? { sessionToken: token } : {}) };
}

/** The flags' settings; with --reinit, any location flag replaces the whole old location. */
function settingsFrom(o: InitOptions, old?: ProfileSettings): ProfileSettings {
  const located = LOCATION_FIELDS.some((k) => o[k] !== undefined);
  const base: ProfileSettings = located || !old ? Object.fromEntries(LOCATION_FIELDS.map((k) => [k, o[k]])) : old;
  if (!base.store && !base.bucket) throw usageError('init needs the store: --bucket NAME (S3, with --endpoint-url/--region/--prefix as needed) or --store file:DIR|s3://BUCKET[/PREFIX]');
  if (base.store && base.bucket) throw usageError('give either --store or --bucket, not both');
  if (base.endpointUrl !== undefined) checkEndpoint(base.endpointUrl);
  if (base.prefix !== undefined) checkNewPrefix(normalizePrefix(base.prefix));
  const storageClass = o.storageClass !== undefined ? parseStorageClass(o.storageClass) : old?.storageClass;
  // A profile is used from any directory: a relative file: store would move with the user.
  const store = base.store?.startsWith('file:') && base.store.length > 5 ? `file:${path.resolve(base.store.slice(5))}` : base.store;
  return { ...base, ...(store !== undefined && { store }), storageClass };
}

/**
 * `init`: a new profile with a fresh random master key. `init --reinit`: the same master key
 * (so every existing backup stays readable) under a new password, salt and/or settings; the
 * old file is kept as <file>.bak.
 */
export async function initCommand(o: InitOptions): Promise<void> {
  if (o.saveCredentials && o.dropCredentials) throw usageError('give either --save-credentials or --drop-credentials, not both');
  const file = profilePath(o.profile);
  const exists = await profileExists(file);
  if (!o.reinit) {
    if (exists) throw conflictError(`a profile already exists at ${file}; use init --reinit to change its password or settings`);
    if (o.dropCredentials) throw usageError('--drop-credentials only applies with --reinit');
    if (o.newPasswordEnv) throw usageError('--new-password-env only applies with --reinit; use --password-env');
  }
  if (o.reinit && !exists) throw notFoundError(`no profile at ${file} to reinitialise: run s3duct init first`);

  const old = o.reinit ? await unlockProfile(file, o, `Current password for ${file}: `) : undefined;
  const settings = settingsFrom(o, old?.document.settings);
  const credentials = o.saveCredentials ? credentialsFromEnv() : o.dropCredentials ? undefined : old?.credentials;
  const password = old ? await newPassword(o, old.password) : await readPassword(o, { prompt: `New password for ${file}: `, confirm: true, setting: true });
  const kdf = newKdfParams();
  const doc = sealProfile(settings, kdf, { masterKey: old?.masterKey ?? randomBytes(32), ...(credentials ? { credentials } : {}) }, await passwordKey(password, kdf));
  const { backup } = await writeProfileText(file, serializeProfile(doc), !!old);
  if (!o.quiet) warn(`profile ${old ? 'updated' : 'created'}: ${file}${backup ? ` (previous version kept as ${backup})` : ''}`);
  // Not silenced by -q: without a copy of the file, losing this machine loses every backup.
  if (!old)
    warn(
      'IMPORTANT: every backup made with this profile needs this file AND its password. Losing either loses the backups. ' +
        'Keep a copy elsewhere now, e.g.: s3duct profile export > s3duct-profile.txt (print it; it stays encrypted under your password).',
    );
}

/** --reinit's new password: --new-password-env, the next stdin line, or a prompt; the current
 *  one is kept when none is given (a change of settings or credentials only). */
async function newPassword(o: InitOptions, current: string): Promise<string> {
  if (o.newPasswordEnv) return readPassword(o, { prompt: '', envVar: o.newPasswordEnv, setting: true });
  if (o.passwordEnv) return current;
  const pw = await readPassword(o.passwordStdin ? o : {}, { prompt: 'New password (Enter keeps the current one): ', confirm: true, allowEmpty: true, setting: true });
  return pw || current;
}
