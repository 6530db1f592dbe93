import { openSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { authError, interruptedError, usageError } from '../errors.js';

/** Where the password comes from: a terminal prompt, the first line of stdin, or a variable. */
export interface PasswordOptions {
  readonly passwordStdin?: boolean;
  readonly passwordEnv?: string;
}

let buffered = '';
let ended = false;
let listening = false;
const waiters: Array<() => void> = [];
const wake = () => waiters.splice(0).forEach((w) => w());

/** The next line of stdin (without its line ending), or undefined at its end. Lines, not all
 *  of stdin: init --reinit reads the current password, then the new one. */
async function nextStdinLine(): Promise<string | undefined> {
  if (!listening) {
    listening = true;
    process.stdin.on('data', (d: Buffer) => ((buffered += d.toString('utf8')), wake()));
    process.stdin.on('end', () => ((ended = true), wake()));
    process.stdin.on('error', () => ((ended = true), wake()));
  }
  for (;;) {
    const nl = buffered.indexOf('\n');
    if (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      process.stdin.pause(); // a paused stdin lets the process exit when its work is done
      return line.replace(/\r$/, '');
    }
    if (ended) {
      const rest = buffered;
      buffered = '';
      return rest || undefined;
    }
    process.stdin.resume();
    await new Promise<void>((r) => waiters.push(r));
  }
}

let typeAhead = '';

/**
 * Reads a line from the terminal without echo. stdin if it is a terminal, else /dev/tty, so
 * `tar c … | s3duct put` can still ask. Raw mode rather than a muted readline: nothing of the
 * password can reach the screen, not even on a redraw.
 */
async function promptHidden(prompt: string): Promise<string> {
  let input: ReadStream;
  let own = false;
  if (process.stdin.isTTY) input = process.stdin as ReadStream;
  else {
    try {
      input = new ReadStream(openSync('/dev/tty', 'r'));
      own = true;
    } catch {
      throw usageError('no terminal to ask for the password: use --password-stdin or --password-env VAR');
    }
  }
  process.stderr.write(prompt);
  input.setRawMode(true);
  input.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let text = '';
      // Characters typed ahead of this prompt (the repeat on init) are kept for the next one.
      const consume = (chars: string): boolean => {
        for (let i = 0; i < chars.length; i++) {
          const ch = chars[i]!;
          if (ch === '\r' || ch === '\n' || ch === '\u0004') {
            typeAhead = chars.slice(i + 1);
            resolve(text);
            return true;
          }
          if (ch === '\u0003') {
            reject(interruptedError('password prompt interrupted'));
            return true;
          }
          if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
          else if (ch >= ' ') text += ch;
        }
        return false;
      };
      const pending = typeAhead;
      typeAhead = '';
      if (consume(pending)) return;
      input.on('data', (b: Buffer) => void consume(b.toString('utf8')));
      input.once('close', () => resolve(text));
    }).finally(() => input.removeAllListeners('data'));
  } finally {
    input.setRawMode(false);
    process.stderr.write('\n');
    if (own) input.destroy();
    else input.pause();
  }
}

export interface PasswordRequest {
  readonly prompt: string;
  /** A new password: a prompt asks twice. Non-interactive sources are taken as given. */
  readonly confirm?: boolean;
  /** The variable to read instead of o.passwordEnv (init --reinit's new password). */
  readonly envVar?: string;
  /** Return "" for an empty answer (or no stdin line) instead of refusing it. */
  readonly allowEmpty?: boolean;
  /** A password being set: it must be one the prompt can type back. */
  readonly setting?: boolean;
}

export async function readPassword(o: PasswordOptions, r: PasswordRequest): Promise<string> {
  if (o.passwordStdin && o.passwordEnv) throw usageError('give either --password-stdin or --password-env, not both');
  const envVar = r.envVar ?? o.passwordEnv;
  let pw: string | undefined;
  if (envVar) {
    pw = process.env[envVar];
    if (pw === undefined) throw usageError(`environment variable ${envVar} (the password) is not set`);
  } else if (o.passwordStdin) {
    pw = await nextStdinLine();
    if (pw === undefined && !r.allowEmpty) throw usageError('--password-stdin: standard input ended before the password line');
  } else {
    pw = await promptHidden(r.prompt);
    if (r.confirm && pw && (await promptHidden('Repeat the password: ')) !== pw) throw authError('the two passwords differ; nothing was written');
  }
  if (!pw) {
    if (r.allowEmpty) return '';
    throw usageError('the password is empty');
  }
  // The prompt drops control characters and ends at a newline: a password holding one could
  // be set from a variable and never typed again, locking its owner out of the profile.
  if (r.setting && /[\u0000-\u001f\u007f]/.test(pw)) throw usageError('the new password holds a control character (a newline, tab, …) that the password prompt cannot type; choose another');
  return pw;
}
