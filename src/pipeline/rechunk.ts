/**
 * Re-cuts a stream of buffers into buffers of exactly `size` bytes (the last may be shorter;
 * an empty stream yields nothing). Each part is a buffer of its own, filled by copying: the
 * source may reuse a piece's memory as soon as the next one is asked for (Store.put), so no
 * view of a piece outlives its turn.
 */
export async function* rechunk(
  source: AsyncIterable<Buffer>,
  size: number,
  /** A buffer of `size` bytes for the next part (a store may hand out reused ones). */
  allocate: () => Buffer = () => Buffer.allocUnsafeSlow(size),
): AsyncGenerator<Buffer> {
  let part: Buffer | undefined;
  let length = 0;
  for await (const piece of source) {
    let p = piece;
    while (p.length) {
      part ??= allocate();
      const take = Math.min(size - length, p.length);
      p.copy(part, length, 0, take);
      length += take;
      p = p.subarray(take);
      if (length === size) {
        yield part;
        part = undefined;
        length = 0;
      }
    }
  }
  if (part && length) yield part.subarray(0, length);
}
