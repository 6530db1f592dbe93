import { Argument, Command, Option } from 'commander';
import { EXIT_CODE_TABLE } from '../errors.js';
import { addAgeOptions, addDownloadWorkersOption, addKeyOption, addProfileOptions, addStoreOptions, addSummaryOption, collect, envYieldsToFlags } from './common-options.js';
import { addThawOptions, optionsFromEnv } from './thaw-options.js';
import type { SummaryFormat } from '../ui/summary.js';
import { STORAGE_CLASSES } from '../format/storage-class.js';
import { suggestValues } from './command-model.js';

export const VERSION = '0.1.0';

const exitCodeHelp = () => '\nExit codes:\n' + EXIT_CODE_TABLE.map(([c, d]) => `  ${String(c).padStart(2)}  ${d}`).join('\n') + '\n';

const storageClassOption = (description: string) => suggestValues(new Option('--storage-class <class>', description), STORAGE_CLASSES);

/** -q silences progress and the text summary; a summary asked for as JSON is output a script wants. */
function reporting(opts: { summary: SummaryFormat }, cmd: Command): { progress: boolean; summary: SummaryFormat } {
  const quiet = !!cmd.optsWithGlobals().quiet;
  return { progress: !quiet, summary: quiet && opts.summary === 'text' ? 'none' : opts.summary };
}

/**
 * The command definitions: parsing and dispatch only. Each action imports its command module
 * on use, so `--help` and light commands do not load the S3 SDK or crypto pipeline.
 */
export function buildProgram(): Command {
  const program = new Command('s3duct')
    .description('Encrypted, chunked, resumable, integrity-chained backups streamed to S3-compatible storage')
    .version(VERSION, '-V, --version')
    .option('-q, --quiet', 'no progress output or success lines (errors are still shown)')
    .option('-v, --verbose', 'more detail on errors');

  const put = addProfileOptions(addSummaryOption(addAgeOptions(addKeyOption(addStoreOptions(new Command('put'))), 'put')))
    .description('read stdin (or FILE, or a block device) and store it as an encrypted, chunked stream')
    .argument('[file]', 'file or block device to read instead of stdin')
    .option('-n, --name <name>', 'stream name, e.g. host1/daily (default: the FILE\'s name)')
    .option('--private-names', 'store under an opaque id; the name lives only in the encrypted manifest (always on with a profile)')
    .option('--no-encrypt', 'store without encryption (silences the unencrypted warning)')
    .addOption(new Option('--chunk-size <size>', 'plaintext bytes per chunk object (K, M, G, T: powers of 1024)').default('128M').env('S3DUCT_CHUNK_SIZE'))
    .addOption(new Option('--part-size <size>', 'multipart part size for S3 uploads (5M..4G; each part is held in memory)').default('16M'))
    .option('--upload-workers <n>', 'parallel part uploads: auto or a number', 'auto')
    .addOption(storageClassOption('storage class of the chunk objects (default: the profile\'s, else STANDARD)').env('S3DUCT_STORAGE_CLASS'))
    .option('--tag <key=value>', 'object tag on chunk objects (repeatable)', collect, [])
    .option('--overwrite', 'replace an existing complete stream of the same name (the old one is gone once the new put starts)')
    .option('--restart', 'discard an interrupted put of this stream and start over')
    .option('--strict-resume', 'on resume, the input must match every chunk already stored (default)')
    .option('--no-strict-resume', 'on resume, a shorter or changed input discards the interrupted put instead of failing')
    .action(async (file, opts, cmd) => {
      const { putCommand } = await import('../commands/put.js');
      await putCommand(file, { ...envYieldsToFlags(opts, cmd), ...reporting(opts, cmd) });
    });

  const get = addDownloadWorkersOption(addProfileOptions(addSummaryOption(addAgeOptions(addKeyOption(addStoreOptions(new Command('get'))), 'get'))))
    .description('restore a stream to stdout, DIR or --output FILE, verifying every chunk, the chain and the totals')
    .argument('[stream]', 'stream name (newest version) or id')
    .argument('[dir]', 'restore into DIR under the original file name')
    .option('-n, --name <name>', 'stream name (same as the argument)')
    .option('--private-names', 'find NAME among streams stored under opaque ids (always on with a profile)')
    .option('-o, --output <file>', 'write to FILE or device (relative to DIR if given; files are renamed into place only once fully verified)')
    .option('--no-decrypt', 'write the stored (encrypted) chunk objects as they are')
    .option('--partial', 'for a put that never finished: write the chunks its journal verified')
    .option('--restore', 'if chunks are archived: request their restore and stream them out in order as they become readable')
    .action(async (stream, dir, opts, cmd) => {
      const { getCommand } = await import('../commands/get.js');
      await getCommand(stream, dir, { ...envYieldsToFlags(opts, cmd), thaw: opts, fromEnv: optionsFromEnv(cmd), ...reporting(opts, cmd) });
    });
  addThawOptions(get);

  program.addCommand(put);
  program.addCommand(get);

  // --- archive lifecycle and listing (issue 5; list from issue 7) ---
  const head = addProfileOptions(addAgeOptions(addKeyOption(addStoreOptions(new Command('head'))), 'get'))
    .description('archival status of a stream: exit 0 readable, 2 not (yet) readable (archived or restoring), 5 a chunk missing, 1 cannot tell')
    .argument('[stream]', 'stream name (or --name)')
    .option('-n, --name <name>', 'stream name')
    .option('--json', 'JSON with per-chunk detail on stdout')
    .action(async (stream, opts, cmd) => {
      const { headCommand } = await import('../commands/head.js');
      await headCommand(stream, envYieldsToFlags(opts, cmd));
    });
  const restore = addProfileOptions(addThawOptions(addAgeOptions(addKeyOption(addStoreOptions(new Command('restore'))), 'get')))
    .description('request a restore of every archived chunk of a stream (idempotent); --wait until all are readable')
    .argument('[stream]', 'stream name (or --name)')
    .option('-n, --name <name>', 'stream name')
    .option('--dry-run', 'print the plan (chunks, bytes, tier, expected time, estimated cost) and request nothing')
    .option('--prices <file>', 'JSON price table overriding the built-in estimates (see README)')
    .option('--json', 'with --dry-run: the plan as JSON')
    .option('--wait', 'poll until every chunk is readable, with progress on stderr')
    .action(async (stream, opts, cmd) => {
      const { restoreCommand } = await import('../commands/restore.js');
      await restoreCommand(stream, { ...envYieldsToFlags(opts, cmd), fromEnv: optionsFromEnv(cmd), progress: !cmd.optsWithGlobals().quiet });
    });
  const list = addProfileOptions(addAgeOptions(addKeyOption(addStoreOptions(new Command('list'))), 'get'))
    .alias('ls')
    .description('streams in the store (or under --prefix): name, size, chunks, created, class, archive status, encryption')
    .option('--json', 'one JSON array on stdout')
    .action(async (opts, cmd) => {
      const { listCommand } = await import('../commands/list.js');
      await listCommand(envYieldsToFlags(opts, cmd));
    });
  program.addCommand(head);
  program.addCommand(restore);
  program.addCommand(list);
  // --- end archive lifecycle and listing ---
  for (const c of profileCommands()) program.addCommand(c);

  // --- verify, delete (issue 7) ---
  const verify = addDownloadWorkersOption(addProfileOptions(addAgeOptions(addKeyOption(addStoreOptions(new Command('verify'))), 'get')))
    .description('check a stream without restoring it: every chunk against the authenticated manifest')
    .argument('[stream]', 'stream name (newest version) or id (or --name)')
    .option('-n, --name <name>', 'stream name')
    .option('--quick', 'metadata only: existence, sizes and ETags of every chunk (no downloads; works on archived chunks)')
    .option('--json', 'print the per-chunk report as JSON')
    .action(async (stream, opts, cmd) => {
      const { verifyCommand } = await import('../commands/verify.js');
      const quiet = !!cmd.optsWithGlobals().quiet;
      await verifyCommand(stream, { ...envYieldsToFlags(opts, cmd), quiet, progress: !quiet && !opts.json });
    });

  // The key finds a private name among the streams (a named stream needs none to be deleted).
  const del = addProfileOptions(addKeyOption(addStoreOptions(new Command('delete'))))
    .alias('rm')
    .description("delete a stream: its manifest, chunks, and whatever interrupted puts left for it")
    .argument('[stream]', 'stream name, or id (s3d-...); a private name must have one version (or --name)')
    .option('-n, --name <name>', 'stream name')
    .option('--private-names', 'find NAME among streams stored under opaque ids (always on with a profile)')
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
    .option('--dry-run', 'print what would be deleted and stop')
    .option('--json', 'print what was (or would be) deleted as JSON')
    .action(async (stream, opts, cmd) => {
      const { deleteCommand } = await import('../commands/delete.js');
      await deleteCommand(stream, { ...envYieldsToFlags(opts, cmd), quiet: !!cmd.optsWithGlobals().quiet });
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

  // Every command, its subcommands included, lists the exit codes it may end with.
  const withExitCodes = (c: Command): void => {
    c.addHelpText('after', exitCodeHelp);
    c.commands.forEach(withExitCodes);
  };
  withExitCodes(program);
  return program;
}

/** init and profile export/import: the profile's life cycle (docs/PROFILE.md). */
function profileCommands(): Command[] {
  const init = new Command('init')
    .description('create a profile: store settings and a random master key, sealed under your password')
    .option('--reinit', 'change the password, settings or credentials of the existing profile (kept as <file>.bak); the master key stays')
    .option('--store <url>', 'store: file:DIR or s3://BUCKET[/PREFIX]')
    .option('--bucket <name>', 'S3 bucket')
    .option('--prefix <prefix>', 'key prefix inside the bucket or directory')
    .option('--endpoint-url <url>', 'S3-compatible endpoint')
    .option('--region <region>', 'S3 region')
    .addOption(storageClassOption('default storage class for put'))
    .option('--save-credentials', 'seal AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) from the environment into the profile')
    .option('--drop-credentials', 'with --reinit: remove saved credentials (the default AWS chain is used)')
    .option('--new-password-env <var>', 'with --reinit: the new password from environment variable VAR')
    .action(async (opts, cmd) => {
      const { initCommand } = await import('../commands/init.js');
      await initCommand({ ...opts, quiet: !!cmd.optsWithGlobals().quiet });
    });
  addProfileOptions(init);

  const profile = new Command('profile').description('export or import the profile (keep a copy: without it the backups are lost)');
  const exportCmd = new Command('export')
    .description('print the profile, still encrypted, in a form to print on paper and type back')
    .option('--profile <path>', 'profile file')
    .action(async (opts) => {
      const { profileExportCommand } = await import('../commands/profile-transfer.js');
      await profileExportCommand(opts);
    });
  const importCmd = new Command('import')
    .description('write a profile from an export (FILE or stdin); checks every line')
    .argument('[file]', 'the exported text (or a profile file); default stdin')
    .option('--profile <path>', 'profile file to write')
    .option('--force', 'replace an existing profile (kept as <file>.bak)')
    .action(async (file, opts, cmd) => {
      const { profileImportCommand } = await import('../commands/profile-transfer.js');
      await profileImportCommand(file, { ...opts, quiet: !!cmd.optsWithGlobals().quiet });
    });
  for (const c of [exportCmd, importCmd]) profile.addCommand(c.exitOverride());
  return [init, profile];
}
