import { passwordKey } from '../crypto/password-key.js';
import { readPassword, type PasswordOptions } from './password-source.js';
import { openProfile, parseProfileDocument, type ProfileDocument, type ProfileSecrets } from './profile-format.js';
import { readProfileText } from './profile-file.js';

export interface UnlockedProfile extends ProfileSecrets {
  readonly path: string;
  readonly document: ProfileDocument;
  readonly password: string;
}

/** Reads the profile at `file`, asks for its password and opens the secrets. */
export async function unlockProfile(file: string, o: PasswordOptions, prompt = `Password for ${file}: `): Promise<UnlockedProfile> {
  const document = parseProfileDocument(await readProfileText(file), `profile ${file}`);
  const password = await readPassword(o, { prompt });
  const secrets = openProfile(document, await passwordKey(password, document.kdf), `profile ${file}`);
  return { ...secrets, path: file, document, password };
}
