import { createHash, type Hash } from 'node:crypto';

export interface Digests {
  readonly sha256: Buffer;
  readonly sha3_256: Buffer;
}

/** SHA-256 and SHA3-256 of the same bytes: two unrelated constructions, so a weakness found in
 *  one family alone does not let a forged chunk through. */
export class DualHash {
  private readonly a: Hash = createHash('sha256');
  private readonly b: Hash = createHash('sha3-256');
  size = 0;

  update(data: Buffer): void {
    this.a.update(data);
    this.b.update(data);
    this.size += data.length;
  }

  digest(): Digests {
    return { sha256: this.a.digest(), sha3_256: this.b.digest() };
  }
}
