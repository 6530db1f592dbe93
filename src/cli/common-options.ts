import { Option, type Command } from 'commander';
import { usageError } from '../errors.js';
import type { StoreSpec } from '../store/open-store.js';
import type { SummaryFormat } from '../ui/summary.js';
import { parseSize } from '../units.js';

/** Options every store-using command shares, with the environment variables that set them. */
export function addStoreOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--store <url>', 'store: file:DIR (local directory) or s3://BUCKET[/PREFIX]').env('S3DUCT_STORE'))
    .addOption(new Option('--bucket <name>', 'S3 bucket').env('S3DUCT_BUCKET'))
    .addOption(new Option('--prefix <prefix>', 'key prefix inside the bucket or directory').env('S3DUCT_PREFIX'))
    .addOption(new Option('--endpoint-url <url>', 'S3-compatible endpoint (path-style addressing)').env('S3DUCT_ENDPOINT_URL'))
    .addOption(new Option('--region <region>', 'S3 region (default: AWS_REGION or us-east-1)').env('S3DUCT_REGION'))
    .addOption(new Option('--retries <n>', 'retry attempts per S3 request').default('10').env('S3DUCT_RETRIES'))
    .addOption(
      new Option('--checksum-mode <mode>', 'request checksums: when_supported (SDK default) or when_required (for stores that reject CRC headers)')
        .choices(['when_supported', 'when_required'])
        .default('when_supported')
        .env('S3DUCT_CHECKSUM_MODE'),
    );
}

export function addKeyOption(cmd: Command): Command {
  return cmd.addOption(new Option('--key <spec>', 'AES-256-GCM key: hex:<64 hex>, file:<path> or env:<VAR>').env('S3DUCT_KEY'));
}

export function addDownloadWorkersOption(cmd: Command): Command {
  return cmd.option('--download-workers <n>', 'parallel ranged downloads: auto or a number', 'auto');
}

/** Which profile, and where its password comes from when there is no terminal to ask on. */
export function addProfileOptions(cmd: Command): Command {
  return cmd
    .option('--profile <path>', 'profile file (default: S3DUCT_PROFILE, else $XDG_CONFIG_HOME/s3duct/profile.json or ~/.config/s3duct/profile.json)')
    .option('--password-stdin', 'read the profile password from the first line of stdin')
    .option('--password-env <var>', 'read the profile password from environment variable VAR');
}

/** The age options as commander hands them over. */
export interface RawAgeOptions {
  ageRecipient?: string[];
  ageRecipientsFile?: string[];
  ageIdentity?: string[];
  agePassphraseEnv?: string;
}

export function anyAgeOption(o: RawAgeOptions): boolean {
  return !!(o.ageRecipient?.length || o.ageRecipientsFile?.length || o.ageIdentity?.length || o.agePassphraseEnv);
}

/**
 * The command line wins over the environment: S3DUCT_KEY yields to age options and to
 * --no-encrypt / --no-decrypt, S3DUCT_STORE to --bucket, S3DUCT_BUCKET to --store, and
 * S3DUCT_PREFIX to a prefix in --store s3://BUCKET/PREFIX. The same
 * pairs given both as flags stay a usage error.
 */
export function envYieldsToFlags<T extends { key?: string; store?: string; bucket?: string; prefix?: string; encrypt?: boolean; decrypt?: boolean } & RawAgeOptions>(opts: T, cmd: Command): T {
  const fromEnv = (k: string) => cmd.getOptionValueSource(k) === 'env';
  const out = { ...opts };
  if (out.prefix !== undefined && fromEnv('prefix') && /^s3:\/\/[^/]+\/./.test(opts.store ?? '') && !fromEnv('store')) out.prefix = undefined;
  if (out.key !== undefined && fromEnv('key') && (anyAgeOption(opts) || opts.encrypt === false || opts.decrypt === false)) out.key = undefined;
  if (out.store !== undefined && fromEnv('store') && opts.bucket !== undefined && !fromEnv('bucket')) out.store = undefined;
  if (out.bucket !== undefined && fromEnv('bucket') && opts.store !== undefined && !fromEnv('store')) out.bucket = undefined;
  return out;
}

/** age public-key or passphrase encryption (put: recipients; get: identities). */
export function addAgeOptions(cmd: Command, verb: 'put' | 'get'): Command {
  if (verb === 'put')
    cmd
      .option('--age-recipient <recipient>', 'encrypt with age to this public key, age1… or post-quantum age1pq1… (repeatable)', collect, [])
      .option('--age-recipients-file <file>', 'encrypt with age to every recipient in FILE, one per line, # comments (repeatable)', collect, []);
  return cmd
    .option(
      '--age-identity <file>',
      verb === 'put' ? 'age identity file: encrypt to its public keys; an interrupted put can then resume (repeatable)' : 'age identity file (age-keygen output) to decrypt with (repeatable)',
      collect,
      [],
    )
    .option('--age-passphrase-env <var>', 'age passphrase (scrypt), read from environment variable VAR');
}

export const collect = (v: string, prev: string[]) => [...prev, v];

export function addSummaryOption(cmd: Command): Command {
  return cmd
    .addOption(new Option('--summary <format>', 'summary on stderr').choices(['text', 'json', 'none']).default('text'))
    .addOption(new Option('--json', 'same as --summary json (every command that reports takes --json)').implies({ summary: 'json' }));
}

export function parseCount(text: string, what: string, min = 1, max = 1024): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw usageError(`invalid ${what} "${text}": expected a whole number from ${min} to ${max}`);
  return n;
}

/** "auto" or a number of workers. */
export function parseWorkers(text: string, what: string, auto: number): number {
  return text === 'auto' ? auto : parseCount(text, what, 1, 64);
}

export interface RawStoreOptions {
  store?: string;
  bucket?: string;
  prefix?: string;
  endpointUrl?: string;
  region?: string;
  retries: string;
  checksumMode: 'when_supported' | 'when_required';
  partSize?: string;
}

/** --part-size in bytes: S3 allows parts up to 5G, but each part is held in memory, and a
 *  Node buffer stops at 4 GiB. */
export function parsePartSize(text = '16M'): number {
  const partSize = parseSize(text, 'part size');
  if (partSize < 5 * 1024 * 1024 || partSize > 4 * 1024 ** 3) throw usageError('--part-size must be between 5M (the S3 minimum) and 4G (a part is held in memory)');
  return partSize;
}

export function storeSpecFrom(o: RawStoreOptions, uploadSlots = 4): StoreSpec {
  const partSize = parsePartSize(o.partSize);
  return {
    store: o.store,
    bucket: o.bucket,
    prefix: o.prefix,
    endpointUrl: o.endpointUrl === undefined ? undefined : checkEndpoint(o.endpointUrl),
    region: o.region ? checkRegion(o.region) : undefined, // empty (an unset S3DUCT_REGION=): the default
    retries: parseCount(o.retries, '--retries', 0, 100),
    checksumMode: o.checksumMode,
    partSize,
    uploadSlots,
  };
}

/** An http(s) URL without credentials in it: they would be echoed in every message naming
 *  the store, and written to resume journals (credentials come from the AWS chain). */
export function checkEndpoint(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usageError('--endpoint-url must be a URL such as http://127.0.0.1:9000 or https://s3.example.com');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw usageError('--endpoint-url must start with http:// or https://');
  if (u.username || u.password) throw usageError('--endpoint-url must not contain a user name or password; give credentials through the AWS variables, files or profiles');
  return url;
}

function checkRegion(region: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/i.test(region)) throw usageError('--region must be a region name such as us-east-1');
  return region;
}

export function summaryFormat(v: string): SummaryFormat {
  return v as SummaryFormat;
}
