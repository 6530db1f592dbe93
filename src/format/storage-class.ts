import { usageError } from '../errors.js';

export const STORAGE_CLASSES = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'GLACIER_IR',
] as const;
export type StorageClass = (typeof STORAGE_CLASSES)[number];

export function parseStorageClass(text: string): StorageClass {
  const v = text.toUpperCase();
  if (!(STORAGE_CLASSES as readonly string[]).includes(v))
    throw usageError(`invalid storage class "${text}": use one of ${STORAGE_CLASSES.join(', ')}`);
  return v as StorageClass;
}

/** Classes whose objects must be restored before a GET succeeds. */
export function isArchiveClass(c: string): boolean {
  return c === 'GLACIER' || c === 'DEEP_ARCHIVE';
}
