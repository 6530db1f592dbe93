import { Argument, Command, Option } from 'commander';
import { EXIT_CODE_TABLE } from '../errors.js';
import { addDownloadWorkersOption, addKeyOption, addStoreOptions, addSummaryOption } from './common-options.js';
import { addThawOptions, optionsFromEnv } from './thaw-options.js';

export const VERSION = '0.1.0';

const exitCodeHelp = () => '\nExit codes:\n' + EXIT_CODE_TABLE.map(([c, d]) => `  ${String(c).padStart(2)}  ${d}`).join('\n') + '\n';

const collect = (v: string, prev: string[]) => [...prev, v];

/**
 * The command definitions: parsing and dispatch only. Each action imports its command module
 * on use, so `--help` and light commands do not load the S3 SDK or crypto pipeline.
 */
export function buildProgram(): Command {
  const program = new Command('s3duct')
    .description('Encrypted, chunked, resumable, integrity-chained backups streamed to S3-compatible storage')
    .version(VERSION, '-V, --version')
    .option('-q, --quiet', 'no progress output or success lines (errors are still shown)')
    .option('-v, --verbose', 'more detail on errors')
    .addHelpText('after', exitCodeHelp)
    .showHelpAfterError('(run with --help for usage)');

  const put = addSummaryOption(addKeyOption(addStoreOptions(new Command('put'))))
    .description('read stdin (or FILE) and store it as an encrypted, chunked stream')
    .argument('[file]', 'file to read instead of stdin')
    .option('-n, --name <name>', 'stream name, e.g. host1/daily')
    .option('--no-encrypt', 'store without encryption (silences the unencrypted warning)')
    .addOption(new Option('--chunk-size <size>', 'plaintext bytes per chunk object (K, M, G, T: powers of 1024)').default('128M').env('S3DUCT_CHUNK_SIZE'))
    .addOption(new Option('--part-size <size>', 'multipart part size for S3 uploads (5M..5G)').default('16M'))
    .option('--upload-workers <n>', 'parallel part uploads: auto or a number', 'auto')
    .addOption(new Option('--storage-class <class>', 'storage class of the chunk objects').default('STANDARD').env('S3DUCT_STORAGE_CLASS'))
    .option('--tag <key=value>', 'object tag on chunk objects (repeatable)', collect, [])
    .option('--overwrite', 'replace an existing complete stream of the same name')
    .option('--restart', 'discard an interrupted put of this stream and start over')
    .option('--strict-resume', 'on resume, the input must match every chunk already stored (default)')
    .option('--no-strict-resume', 'on resume, a shorter or changed input discards the interrupted put instead of failing')
    .addHelpText('after', exitCodeHelp)
    .action(async (file, opts, cmd) => {
      const { putCommand } = await import('../commands/put.js');
      await putCommand(file, { ...opts, progress: !cmd.optsWithGlobals().quiet });
    });

  const get = addDownloadWorkersOption(addSummaryOption(addKeyOption(addStoreOptions(new Command('get')))))
    .description('restore a stream to stdout (or --output FILE), verifying every chunk, the chain and the totals')
    .option('-n, --name <name>', 'stream name')
    .option('-o, --output <file>', 'write to FILE (renamed into place only once fully verified)')
    .option('--no-decrypt', 'write the stored (encrypted) chunk objects as they are')
    .option('--partial', 'for a put that never finished: write the chunks its journal verified')
    .option('--restore', 'if chunks are archived: request their restore and stream them out in order as they become readable')
    .addHelpText('after', exitCodeHelp)
    .action(async (opts, cmd) => {
      const { getCommand } = await import('../commands/get.js');
      await getCommand({ ...opts, thaw: opts, fromEnv: optionsFromEnv(cmd), progress: !cmd.optsWithGlobals().quiet });
    });
  addThawOptions(get);

  program.addCommand(put);
  program.addCommand(get);

  // --- archive lifecycle and listing (issue 5; list from issue 7) ---
  const head = addKeyOption(addStoreOptions(new Command('head')))
    .description('archival status of a stream: exit 0 readable, 2 not (yet) readable (archived or restoring), 1 cannot tell or damaged')
    .argument('[stream]', 'stream name (or --name)')
    .option('-n, --name <name>', 'stream name')
    .option('--json', 'JSON with per-chunk detail on stdout')
    .addHelpText('after', exitCodeHelp)
    .action(async (stream, opts) => {
      const { headCommand } = await import('../commands/head.js');
      await headCommand(stream, opts);
    });
  const restore = addThawOptions(addKeyOption(addStoreOptions(new Command('restore'))))
    .description('request a restore of every archived chunk of a stream (idempotent); --wait until all are readable')
    .argument('[stream]', 'stream name (or --name)')
    .option('-n, --name <name>', 'stream name')
    .option('--dry-run', 'print the plan (chunks, bytes, tier, expected time, estimated cost) and request nothing')
    .option('--prices <file>', 'JSON price table overriding the built-in estimates (see README)')
    .option('--json', 'with --dry-run: the plan as JSON')
    .option('--wait', 'poll until every chunk is readable, with progress on stderr')
    .addHelpText('after', exitCodeHelp)
    .action(async (stream, opts, cmd) => {
      const { restoreCommand } = await import('../commands/restore.js');
      await restoreCommand(stream, { ...opts, progress: !cmd.optsWithGlobals().quiet });
    });
  const list = addKeyOption(addStoreOptions(new Command('list')))
    .alias('ls')
    .description('streams in the store (or under --prefix): name, size, chunks, created, class, archive status, encryption')
    .option('--json', 'one JSON array on stdout')
    .addHelpText('after', exitCodeHelp)
    .action(async (opts) => {
      const { listCommand } = await import('../commands/list.js');
      await listCommand(opts);
    });
  program.addCommand(head);
  program.addCommand(restore);
  program.addCommand(list);
  // --- end archive lifecycle and listing ---

  // --- verify, delete (issue 7) ---
  const verify = addDownloadWorkersOption(addKeyOption(addStoreOptions(new Command('verify'))))
    .description('check a stream without restoring it: every chunk against the authenticated manifest')
    .option('-n, --name <name>', 'stream name')
    .option('--quick', 'metadata only: existence, sizes and ETags of every chunk (no downloads; works on archived chunks)')
    .option('--json', 'print the per-chunk report as JSON')
    .addHelpText('after', exitCodeHelp)
    .action(async (opts, cmd) => {
      const { verifyCommand } = await import('../commands/verify.js');
      const quiet = !!cmd.optsWithGlobals().quiet;
      await verifyCommand({ ...opts, quiet, progress: !quiet && !opts.json });
    });

  const del = addStoreOptions(new Command('delete'))
    .alias('rm')
    .description("delete a stream: its manifest, chunks, and whatever interrupted puts left for it")
    .option('-n, --name <name>', 'stream name')
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
    .option('--dry-run', 'print what would be deleted and stop')
    .option('--json', 'print what was (or would be) deleted as JSON')
    .addHelpText('after', exitCodeHelp)
    .action(async (opts, cmd) => {
      const { deleteCommand } = await import('../commands/delete.js');
      await deleteCommand({ ...opts, quiet: !!cmd.optsWithGlobals().quiet });
    });

  program.addCommand(verify);
  program.addCommand(del);
  // --- end verify, delete ---

  // --- completion, man (issue 7): generated from this program's own definitions ---
  program.addCommand(
    new Command('completion')
      .description('print a shell completion script (bash: source <(s3duct completion bash))')
      .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
      .action(async (shell) => {
        const [{ describeProgram }, { completionScript }] = await Promise.all([import('./command-model.js'), import('./completion.js')]);
        process.stdout.write(completionScript(describeProgram(program), shell));
      }),
  );
  program.addCommand(
    new Command('man').description('print the manual page (roff): s3duct man | man -l -').action(async () => {
      const [{ describeProgram }, { manPage }] = await Promise.all([import('./command-model.js'), import('./man-page.js')]);
      process.stdout.write(manPage(describeProgram(program)));
    }),
  );
  // --- end completion, man ---

  return program;
}
