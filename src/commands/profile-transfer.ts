import * as fs from 'node:fs/promises';
import { failure, notFoundError, usageError } from '../errors.js';
import { decodePaper, encodePaper } from '../profile/paper.js';
import { parseProfileDocument, serializeProfile } from '../profile/profile-format.js';
import { profilePath, readProfileText, writeProfileText } from '../profile/profile-file.js';
import { warn } from '../ui/log.js';

/** `profile export`: the profile, still encrypted, as text for paper (docs/PROFILE.md). */
export async function profileExportCommand(o: { profile?: string }): Promise<void> {
  const file = profilePath(o.profile);
  const doc = parseProfileDocument(await readProfileText(file), `profile ${file}`);
  process.stdout.write(encodePaper(Buffer.from(JSON.stringify(doc), 'utf8')));
}

/** `profile import [FILE]`: a paper export (or a profile file) back into a profile file. An
 *  existing profile is replaced only with --force, and then kept as <file>.bak. */
export async function profileImportCommand(input: string | undefined, o: { profile?: string; force?: boolean; quiet?: boolean }): Promise<void> {
  let text: string;
  try {
    text = input === undefined || input === '-' ? await readAll(process.stdin) : await fs.readFile(input, 'utf8');
  } catch (e: any) {
    if (e?.code === 'ENOENT') throw notFoundError(`cannot read ${input}: no such file`);
    throw usageError(`cannot read ${input}: ${e?.code ?? e?.message}`);
  }
  const json = text.trimStart().startsWith('{') ? text : decodePaper(text).toString('utf8');
  const doc = parseProfileDocument(json, input ?? 'standard input');
  const file = profilePath(o.profile);
  const { backup } = await writeProfileText(file, serializeProfile(doc), !!o.force).catch((e) => {
    if (e?.exitCode) throw e;
    throw failure(`cannot write ${file}: ${e?.code ?? e?.message}`);
  });
  if (!o.quiet) warn(`profile imported: ${file}${backup ? ` (previous version kept as ${backup})` : ''}; its password is the one it had when exported`);
}

async function readAll(s: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const p of s) parts.push(Buffer.from(p as Buffer));
  return Buffer.concat(parts).toString('utf8');
}
