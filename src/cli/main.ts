import { CommanderError } from 'commander';
import { ExitCode, QuietExit, S3ductError } from '../errors.js';
import { buildProgram } from './program.js';

/** Runs the CLI: user errors become one line on stderr and an exit code from the table;
 *  only unexpected failures show a stack trace, and only with --verbose or S3DUCT_DEBUG. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const c of program.commands) c.exitOverride();
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
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage; // commander already printed the message
    }
    if (e instanceof QuietExit) return e.exitCode;
    if (e instanceof S3ductError) {
      process.stderr.write(`s3duct: ${e.message}\n`);
      if (verbose && e.stack) process.stderr.write(e.stack + '\n');
      return e.exitCode;
    }
    process.stderr.write(`s3duct: unexpected error: ${e?.message ?? e}${verbose ? '' : ' (run with --verbose for details)'}\n`);
    if (verbose && e?.stack) process.stderr.write(e.stack + '\n');
    return ExitCode.failure;
  }
}
