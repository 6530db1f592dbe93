/** Re-cuts a stream of buffers into buffers of exactly `size` bytes (the last may be shorter;
 *  an empty stream yields nothing). */
export async function* rechunk(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const piece of source) {
    let p = piece;
    while (length + p.length >= size) {
      const take = size - length;
      parts.push(p.subarray(0, take));
      yield Buffer.concat(parts, size);
      p = p.subarray(take);
      parts = [];
      length = 0;
    }
    if (p.length) {
      parts.push(p);
      length += p.length;
    }
  }
  if (length) yield Buffer.concat(parts, length);
}
