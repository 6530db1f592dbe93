import { base32Decode, base32Encode } from './base32.js';

/**
 * Private names (docs/FORMAT.md "Private streams"): the object key segment of a private
 * stream is "s3d-" + lowercase base32 of its stream id, and its human name lives only in the
 * encrypted manifest. Deriving the id from the stream id (already in clear in every object
 * header) leaks nothing new and lets a reader check that a manifest sits under its own id.
 */
const PREFIX = 's3d-';
const PATTERN = /^s3d-[a-z2-7]{26}$/;

export function privateIdOf(streamId: Buffer): string {
  return PREFIX + base32Encode(streamId).toLowerCase();
}

/** The stream id a private id stands for, or null if `text` is not a private id. */
export function streamIdOfPrivateId(text: string): Buffer | null {
  if (!PATTERN.test(text)) return null;
  const id = base32Decode(text.slice(PREFIX.length));
  return id && id.length === 16 ? id : null;
}

export function isPrivateId(text: string): boolean {
  return streamIdOfPrivateId(text) !== null;
}
