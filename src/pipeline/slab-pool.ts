/**
 * A fixed set of reusable shared-memory slabs: the read-ahead budget of put and get. Pieces
 * travel between threads in slabs, so nothing is allocated per piece and memory stays at
 * slabSize × count whatever the chunk size. (Fresh SharedArrayBuffers per piece were measured
 * to pile up: a worker that allocates little collects its handles to them too rarely.)
 */
/**
 * Room in an output slab beyond its input step: a codec step may also emit a segment carried
 * over from the previous step (at most 64 KiB in the formats we have), its tags and an object
 * header. Output that still does not fit comes in a fresh buffer instead (crypto-worker.ts).
 */
export const SLAB_HEADROOM = 256 * 1024;

export class SlabPool {
  private readonly free: Uint8Array[] = [];
  private created = 0;
  private used = 0;
  private waiters: Array<{ resolve: (s: Uint8Array) => void; reject: (e: unknown) => void }> = [];
  private aborted: { error: unknown } | undefined;
  /** Most slabs held at once: lets tests check the bound without timing. */
  peak = 0;

  constructor(
    readonly slabSize: number,
    readonly count: number,
  ) {
    if (!(slabSize > 0 && count > 0)) throw new Error('SlabPool needs a positive size and count');
  }

  get inUse(): number {
    return this.used;
  }

  async acquire(): Promise<Uint8Array> {
    if (this.aborted) throw this.aborted.error;
    if (this.used < this.count) return this.take();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Returns a slab; its bytes may be overwritten at once, so every reader must be done. */
  release(slab: Uint8Array): void {
    this.free.push(slab);
    this.used--;
    const w = this.waiters.shift();
    if (w) w.resolve(this.take());
  }

  /** Fails every waiter and every later acquire: stops producers once the pipeline failed. */
  abort(error: unknown): void {
    this.aborted ??= { error };
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  private take(): Uint8Array {
    this.used++;
    this.peak = Math.max(this.peak, this.used);
    if (this.free.length) return this.free.pop()!;
    this.created++;
    return new Uint8Array(new SharedArrayBuffer(this.slabSize));
  }
}
