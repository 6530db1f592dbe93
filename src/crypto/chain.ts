import { createHmac } from 'node:crypto';

/**
 * One link of the integrity chain: chain[i] = HMAC-SHA256(chain[i-1], sha256_i || sha3_256_i),
 * with chain[-1] the stream's chain key. Dropping, reordering or replacing a chunk changes
 * every later link, and only a holder of the chain key can compute a valid one.
 */
export function chainStep(previous: Buffer, sha256: Buffer, sha3_256: Buffer): Buffer {
  return createHmac('sha256', previous).update(sha256).update(sha3_256).digest();
}
