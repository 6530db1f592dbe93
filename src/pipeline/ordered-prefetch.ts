/**
 * Runs up to `concurrency` tasks ahead and yields their results strictly in order. Memory is
 * bounded by concurrency × one task's result; a failed task surfaces when its turn comes.
 */
export async function* orderedPrefetch<T>(tasks: Iterable<() => Promise<T>>, concurrency: number): AsyncGenerator<T> {
  const it = tasks[Symbol.iterator]();
  const window: Promise<T>[] = [];
  const launch = () => {
    const n = it.next();
    if (n.done) return false;
    const p = n.value();
    p.catch(() => {}); // observed when its turn comes; avoid an unhandled rejection before that
    window.push(p);
    return true;
  };
  while (window.length < concurrency && launch());
  while (window.length) {
    const value = await window.shift()!;
    launch();
    yield value;
  }
}
