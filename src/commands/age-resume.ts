import type { Protection } from '../crypto/stream-codec.js';
import { canUnwrapAge } from '../crypto/age-keys.js';
import { looksLikeAge } from '../crypto/age-payload.js';
import { ExitCode, S3ductError } from '../errors.js';
import type { StreamLayout } from '../format/layout.js';
import { journalAgeHeader, type Journal } from '../resume/journal-format.js';
import type { Store } from '../store/store.js';

/**
 * An interrupted age put continues under its own file key, which only its identities (or
 * passphrase) unwrap from the header its journal records; s3duct never writes a file key
 * down. Why this put must start the interrupted one over instead, or null: it can continue it,
 * or there is none, or it is another mode's (which the resume refuses, exit 7).
 */
export async function whyAgePutRestarts(protection: Protection, store: Store, layout: StreamLayout, privateNames: boolean, mine: Journal | null): Promise<string | null> {
  if (protection.mode !== 'age') return null;
  if (!(mine ? mine.header.encryption === 'age' : !privateNames && (await storeJournalIsAge(store, layout)))) return null;
  if (!canUnwrapAge(protection.keys))
    return 'this put has only public keys, which cannot open the file key its chunks were sealed with (put --age-identity FILE, or the passphrase, makes it resumable)';
  if (!mine && !ageStoreCopyIsAuthentic(protection))
    return "only this machine's journal of it is trusted (anyone who can write to the bucket and knows the public keys could plant a journal under a file key of their own), and this machine has none";
  if (mine && !mine.header.ageHeader) return 'its journal was written by an s3duct that did not record the age header';
  return null;
}

/**
 * Whether a put may continue from the store copy of an age journal. Sealing one needs no
 * secret when the stream is encrypted to public keys: a bucket writer could plant one whose
 * header wraps a file key they chose, and the resumed put would seal the rest of the data
 * under it. A passphrase header, though, can only be made by whoever knows the passphrase.
 */
function ageStoreCopyIsAuthentic(protection: Protection): boolean {
  return protection.mode === 'age' && protection.keys.kind === 'passphrase';
}

/**
 * Whether the put may read the store copy of the journal beside its own (`mine`): always but
 * for an age put to public keys that has a local journal, which it continues alone. Without
 * one, an age store copy is whyAgePutRestarts' to refuse, and another mode's is read so that
 * the resume refuses it (exit 7) instead of overwriting it.
 */
export function mayUseStoreJournal(protection: Protection, mine: Journal | null): boolean {
  return protection.mode !== 'age' || ageStoreCopyIsAuthentic(protection) || !mine;
}

async function storeJournalIsAge(store: Store, layout: StreamLayout): Promise<boolean> {
  try {
    return looksLikeAge(await store.get(layout.resume, { start: 0, end: 64 }));
  } catch (e) {
    if (e instanceof S3ductError && e.exitCode === ExitCode.notFound) return false;
    throw e;
  }
}

/**
 * For a put given only age recipients, which cannot open its manifest: whether the stored
 * manifest is the one the interrupted put in `mine` wrote. Every object of an age stream,
 * the manifest too, begins with the header the journal records, and a header is new per put.
 */
export async function isOwnAgeManifest(store: Store, layout: StreamLayout, mine: Journal | null): Promise<boolean> {
  const header = mine && journalAgeHeader(mine.header);
  if (!header) return false;
  return (await store.get(layout.manifest, { start: 0, end: header.length })).equals(header);
}
