/** Pull-based reading of a byte stream with look-ahead, so the chunker can cut exact sizes and
 *  learn whether a chunk is the last one without consuming the next chunk's bytes. */
export class ByteReader {
  private readonly it: AsyncIterator<Buffer | Uint8Array | string>;
  private head: Buffer | null = null;
  private ended = false;
  private failed: { error: unknown } | undefined;

  constructor(source: AsyncIterable<Buffer | Uint8Array | string>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (!this.head?.length) {
      this.throwIfFailed();
      if (this.ended) return false;
      const r = await this.it.next();
      this.throwIfFailed();
      if (r.done) {
        this.ended = true;
        return false;
      }
      this.head = typeof r.value === 'string' ? Buffer.from(r.value) : Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    }
    return true;
  }

  /** Up to `max` bytes, or null at end of input. */
  async read(max: number): Promise<Buffer | null> {
    if (!(await this.fill())) return null;
    const h = this.head!;
    const out = h.length <= max ? h : h.subarray(0, max);
    this.head = h.length <= max ? null : h.subarray(max);
    return out;
  }

  /** Fills `into`; returns the filled part, shorter only at the end of input. */
  async readInto(into: Uint8Array): Promise<Uint8Array> {
    let n = 0;
    while (n < into.length) {
      const b = await this.read(into.length - n);
      if (!b) break;
      into.set(b, n);
      n += b.length;
    }
    return into.subarray(0, n);
  }

  async atEOF(): Promise<boolean> {
    return !(await this.fill());
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.failed.error;
  }

  /** Makes every later read fail with `error`, and stops the source. */
  fail(error: unknown): void {
    this.failed ??= { error };
    void this.close().catch(() => {});
  }

  /** Stops the source (e.g. on error) so a pipe producer sees the reader go away. */
  async close(): Promise<void> {
    await this.it.return?.();
  }
}
