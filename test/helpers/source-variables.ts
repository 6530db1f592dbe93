import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { REPO } from './cli.js';

/** Every S3DUCT_* name in src/ (options' .env() and direct process.env reads alike), except
 *  test hooks (S3DUCT_TEST_*): what README and the man page must document. */
export function userVariables(): string[] {
  const dir = path.join(REPO, 'src');
  const names = new Set<string>();
  for (const f of readdirSync(dir, { recursive: true }) as string[])
    if (f.endsWith('.ts')) for (const m of readFileSync(path.join(dir, f), 'utf8').matchAll(/S3DUCT_[A-Z][A-Z_]*/g)) names.add(m[0]);
  return [...names].filter((v) => !v.startsWith('S3DUCT_TEST_')).sort();
}
