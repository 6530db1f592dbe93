import { CommanderError } from 'commander';
import { ExitCode, QuietExit, S3ductError } from '../errors.js';
import type { Command } from 'commander';
import { buildProgram } from './program.js';

function forEachCommand(c: Command, f: (c: Command) => void): void {
  f(c);
  for (const sub of c.commands) forEachCommand(sub, f);
}

/** Every message on one line: a store's HTML page, an SDK's hint or a TLS error may carry
 *  newlines, and scripts and logs read one line per error. */
const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();

/** commander's parse errors in the one-line form of every other error. */
function oneLineUsage(message: string): string {
  const text = message.replace(/^error: /, '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
  return `s3duct: ${text} (see --help)\n`;
}

/** Runs the CLI: user errors become one line on stderr and an exit code from the table;
 *  only unexpected failures show a stack trace, and only with --verbose or S3DUCT_DEBUG. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  forEachCommand(program, (c) =>
    c.exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, write) => write(oneLineUsage(s)) }),
  );
  // `s3duct --help | head`: a reader that stops early is not worth a stack trace. Commands
  // that stream data (get) watch stdout themselves and fail with their own message.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') return;
    process.stderr.write(`s3duct: cannot write to standard output: ${e.code ?? e.message}\n`);
    process.exitCode = ExitCode.failure;
  });
  const verbose = argv.includes('--verbose') || argv.includes('-v') || !!process.env.S3DUCT_DEBUG;
  try {
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (e: any) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return ExitCode.ok;
      // Help shown because no subcommand was given is a usage error, not a success.
      if (e.code === 'commander.help') return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      return ExitCode.usage; // commander already printed the message
    }
    if (e instanceof QuietExit) return e.exitCode;
    if (e instanceof S3ductError) {
      process.stderr.write(`s3duct: ${oneLine(e.message)}\n`);
      // Usage errors are the user's to fix from the message alone: no stack even with --verbose.
      if (verbose && e.stack && e.exitCode !== ExitCode.usage) process.stderr.write(e.stack + '\n');
      return e.exitCode;
    }
    process.stderr.write(`s3duct: unexpected error: ${oneLine(String(e?.message ?? e))}${verbose ? '' : ' (run with --verbose for details)'}\n`);
    if (verbose && e?.stack) process.stderr.write(e.stack + '\n');
    return ExitCode.failure;
  }
}

/**
 * `--key hex:…` is readable by every user through ps and /proc for as long as the command
 * runs: the title (which overwrites the command line Linux shows) masks it from the first
 * moment this code runs. env: and file: sources are the ones to use; the README says so.
 */
function hideKeyFromProcessList(argv: string[]): void {
  // Everything after "hex:" in an argument goes: the key is trimmed, so "hex: KEY" is one too.
  if (argv.some((a) => a.includes('hex:'))) process.title = ['s3duct', ...argv.slice(2).map((a) => a.replace(/hex:[\s\S]*/, 'hex:…'))].join(' ');
}

/**
 * The process entry point (bin/s3duct.js and the one executable). Node exits 0 once nothing
 * is left to wait for, even with the command's promise still pending: a stall would then pass
 * for a finished backup. Until the command settles, the exit code is a failure, and a drained
 * event loop is reported as the internal error it is.
 */
export function runMain(argv: string[]): void {
  let settled = false;
  process.exitCode = ExitCode.failure;
  hideKeyFromProcessList(argv);
  // stderr gone (a dead `| tee`, a full log disk) costs the messages, not the backup: an
  // unhandled EPIPE there would end a put mid-way, or turn a finished one into exit 1.
  process.stderr.on('error', () => {});
  // A signal before a command has its own handler (unlocking a profile takes seconds) would
  // otherwise kill the process with 130/143 and no word: stop with the documented exit 6.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(sig, () => {
      if (process.listenerCount(sig) > 1) return; // the command's handler stops it cleanly
      process.stderr.write(`s3duct: interrupted by ${sig} before it finished\n`);
      process.exit(ExitCode.interrupted);
    });
  process.on('beforeExit', () => {
    if (settled) return;
    process.stderr.write('s3duct: internal error: the command stopped making progress with work unfinished; nothing was completed (please report this)\n');
    process.exit(ExitCode.failure);
  });
  void main(argv).then((code) => {
    settled = true;
    process.exitCode = code;
  });
}
