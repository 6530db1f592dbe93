import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

/** Chunk records in the (single) resume journal of a state dir; -1 when there is none. */
export function journalChunks(dir: string): number {
  if (!existsSync(dir)) return -1;
  const f = readdirSync(dir).find((x) => x.endsWith('.journal'));
  if (!f) return -1;
  return readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).length - 1;
}
