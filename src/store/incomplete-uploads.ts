import type { Store } from './store.js';

/** Store.abortUploads for any store, from its listIncomplete and abortIncomplete. */
export async function abortUploadsUnder(store: Pick<Store, 'listIncomplete' | 'abortIncomplete'>, prefix: string): Promise<number> {
  let n = 0;
  for await (const u of store.listIncomplete(prefix)) {
    await store.abortIncomplete(u);
    n++;
  }
  return n;
}
