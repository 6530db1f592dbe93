import { createHash } from 'node:crypto';

/** What an age stream is encrypted to (put) or opened with (get). Never printed. */
export type AgeKeys =
  | {
      readonly kind: 'public-key';
      /** `age1…` / `age1pq1…` strings: what put encrypts to. */
      readonly recipients: readonly string[];
      /** `AGE-SECRET-KEY-…` strings: what get decrypts with (and what lets put resume). */
      readonly identities: readonly string[];
    }
  | { readonly kind: 'passphrase'; readonly passphrase: string };

/**
 * A short, non-secret name for a recipient, recorded in the manifest: the stanza type and
 * 16 bytes of SHA-256 of the recipient string (post-quantum recipients are ~2 KB long).
 * Kept apart from age-header.ts so that naming recipients does not load the age package.
 */
export function ageRecipientIds(keys: AgeKeys): string[] {
  if (keys.kind === 'passphrase') return ['scrypt'];
  return keys.recipients.map(
    (r) => `${r.startsWith('age1pq1') ? 'mlkem768x25519' : 'X25519'}:${createHash('sha256').update(r).digest('hex').slice(0, 32)}`,
  );
}

/** Whether these keys can unwrap a file key at all: put given only public keys cannot. */
export function canUnwrapAge(keys: AgeKeys): boolean {
  return keys.kind === 'passphrase' || keys.identities.length > 0;
}
