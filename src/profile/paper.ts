import { createHash } from 'node:crypto';
import { usageError } from '../errors.js';
import { base32Decode, base32Encode } from '../format/base32.js';

/**
 * A profile written for paper (docs/PROFILE.md "Export"): base32 in numbered lines of
 * 8 groups of 5, each line ending in a 4-character check so that a typo is found on its line,
 * and a closing line with the byte count and a SHA-256 prefix of the whole. Base32 because its
 * alphabet has no 0/O or 1/I look-alikes; the content stays encrypted under the password.
 */
const HEADER = 's3duct profile export v1';
const GROUP = 5;
const GROUPS_PER_LINE = 8;
const LINE_CHARS = GROUP * GROUPS_PER_LINE; // 40 base32 chars = 25 bytes

const lineCheck = (n: number, data: string) => base32Encode(createHash('sha256').update(`${n}:${data}`).digest()).slice(0, 4);
const totalCheck = (bytes: Buffer) => base32Encode(createHash('sha256').update(bytes).digest()).slice(0, 16);

export function encodePaper(bytes: Buffer): string {
  const b32 = base32Encode(bytes);
  const lines = [
    HEADER,
    '# Keep this with your backups\' paper records. It is the profile, still encrypted under your',
    '# password: with the password it restores every backup made with the profile.',
    '# Type it back (case and spacing do not matter) and run: s3duct profile import FILE',
  ];
  for (let i = 0, n = 1; i < b32.length; i += LINE_CHARS, n++) {
    const data = b32.slice(i, i + LINE_CHARS);
    const groups = data.match(new RegExp(`.{1,${GROUP}}`, 'g'))!.join(' ');
    lines.push(`${String(n).padStart(3, '0')}  ${groups.padEnd(LINE_CHARS + GROUPS_PER_LINE - 1)}  ${lineCheck(n, data)}`);
  }
  lines.push(`end ${bytes.length} ${totalCheck(bytes)}`);
  return lines.join('\n') + '\n';
}

export function decodePaper(text: string): Buffer {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (lines[0]?.toLowerCase().replace(/\s+/g, ' ') !== HEADER) throw usageError(`not a profile export: the first line must be "${HEADER}"`);
  let data = '';
  let end: RegExpExecArray | null = null;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    end = /^end\s+(\d+)\s+([a-z2-7]{16})$/i.exec(line);
    if (end) {
      if (i !== lines.length - 1) throw usageError('profile export: text after the "end" line');
      break;
    }
    const words = line.split(/\s+/);
    const n = Number(words[0]);
    if (!Number.isInteger(n) || n !== i) throw usageError(`profile export: line ${i} should start with its number ${String(i).padStart(3, '0')}`);
    const check = words[words.length - 1]!.toUpperCase();
    const body = words.slice(1, -1).join('').toUpperCase();
    if (lineCheck(n, body) !== check) throw usageError(`profile export: line ${String(n).padStart(3, '0')} does not match its check "${check}": look for a typo on it`);
    data += body;
  }
  if (!end) throw usageError('profile export: the "end" line is missing (is the text complete?)');
  const bytes = base32Decode(data);
  if (!bytes || bytes.length !== Number(end[1])) throw usageError('profile export: length does not match the "end" line');
  if (totalCheck(bytes) !== end[2]!.toUpperCase()) throw usageError('profile export: the checksum on the "end" line does not match');
  return bytes;
}
