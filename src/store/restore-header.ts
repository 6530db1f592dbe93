import type { RestoreState } from './store.js';

/** Parses S3's `x-amz-restore` header: `ongoing-request="true"` or
 *  `ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"`. */
export function parseRestoreHeader(value: string | undefined): RestoreState {
  if (!value) return { state: 'none' };
  if (/ongoing-request\s*=\s*"true"/i.test(value)) return { state: 'ongoing' };
  const m = /expiry-date\s*=\s*"([^"]+)"/i.exec(value);
  const expiry = m ? new Date(m[1]!) : undefined;
  return expiry && !Number.isNaN(expiry.getTime()) ? { state: 'restored', expiry } : { state: 'restored' };
}
