import { createHash, type Hash } from 'node:crypto';

/** SHA-256 and SHA3-256 of the same bytes: two unrelated constructions, so a weakness found in
 *  one family alone does not let a forged chunk through. */
export interface Digests {
  readonly sha256: Buffer;
  readonly sha3_256: Buffer;
}

export type DigestName = keyof Digests;
export const BOTH_DIGESTS: readonly DigestName[] = ['sha256', 'sha3_256'];

const ALGORITHM: Record<DigestName, string> = { sha256: 'sha256', sha3_256: 'sha3-256' };

/**
 * Some or all of the Digests of the same bytes. The pipeline computes a chunk's SHA3-256
 * (the slow one, sequential by construction) on another thread than its SHA-256 and cipher,
 * so one chunk keeps two cores busy.
 */
export class Hashes {
  private readonly hashes: ReadonlyArray<readonly [DigestName, Hash]>;
  size = 0;

  constructor(names: readonly DigestName[]) {
    this.hashes = names.map((n) => [n, createHash(ALGORITHM[n])] as const);
  }

  update(data: Buffer): void {
    for (const [, h] of this.hashes) h.update(data);
    this.size += data.length;
  }

  digest(): Partial<Digests> {
    return Object.fromEntries(this.hashes.map(([n, h]) => [n, h.digest()]));
  }
}
