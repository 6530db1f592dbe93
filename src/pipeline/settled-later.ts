/** Marks a promise as observed now: its rejection is handled where it is awaited later, and
 *  must not count as unhandled (which would crash the process) if the pipeline stops first. */
export function settledLater<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}
