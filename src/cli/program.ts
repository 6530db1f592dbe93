import { Command, Option } from 'commander';
import { EXIT_CODE_TABLE } from '../errors.js';
import { addAgeOptions, addKeyOption, addStoreOptions, addSummaryOption, collect, envKeyYieldsToAge } from './common-options.js';

export const VERSION = '0.1.0';

const exitCodeHelp = () => '\nExit codes:\n' + EXIT_CODE_TABLE.map(([c, d]) => `  ${String(c).padStart(2)}  ${d}`).join('\n') + '\n';


/**
 * The command definitions: parsing and dispatch only. Each action imports its command module
 * on use, so `--help` and light commands do not load the S3 SDK or crypto pipeline.
 */
export function buildProgram(): Command {
  const program = new Command('s3duct')
    .description('Encrypted, chunked, resumable, integrity-chained backups streamed to S3-compatible storage')
    .version(VERSION, '-V, --version')
    .option('-q, --quiet', 'no progress output')
    .option('-v, --verbose', 'more detail on errors')
    .addHelpText('after', exitCodeHelp)
    .showHelpAfterError('(run with --help for usage)');

  const put = addSummaryOption(addAgeOptions(addKeyOption(addStoreOptions(new Command('put'))), 'put'))
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
    .addHelpText('after', exitCodeHelp)
    .action(async (file, opts, cmd) => {
      const { putCommand } = await import('../commands/put.js');
      await putCommand(file, { ...envKeyYieldsToAge(opts, cmd), progress: !cmd.optsWithGlobals().quiet });
    });

  const get = addSummaryOption(addAgeOptions(addKeyOption(addStoreOptions(new Command('get'))), 'get'))
    .description('restore a stream to stdout (or --output FILE), verifying every chunk, the chain and the totals')
    .option('-n, --name <name>', 'stream name')
    .option('-o, --output <file>', 'write to FILE (renamed into place only once fully verified)')
    .option('--no-decrypt', 'write the stored (encrypted) chunk objects as they are')
    .option('--download-workers <n>', 'parallel ranged downloads: auto or a number', 'auto')
    .addHelpText('after', exitCodeHelp)
    .action(async (opts, cmd) => {
      const { getCommand } = await import('../commands/get.js');
      await getCommand({ ...envKeyYieldsToAge(opts, cmd), progress: !cmd.optsWithGlobals().quiet });
    });

  program.addCommand(put);
  program.addCommand(get);
  return program;
}
