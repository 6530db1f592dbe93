import { fstatSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { parsePartSize, parseWorkers } from '../cli/common-options.js';
import { canUnwrapAge } from '../crypto/age-keys.js';
import { isOwnAgeManifest, mayUseStoreJournal, whyAgePutRestarts } from './age-resume.js';
import { codecForPut, protectionKeyId, type StreamCodec } from '../crypto/stream-codec.js';
import { conflictError, usageError } from '../errors.js';
import { StreamLayout, checkNewPrefix, validateStreamName } from '../format/layout.js';
import { parseStorageClass } from '../format/storage-class.js';
import { putStream } from '../pipeline/put-stream.js';
import { sealedSize } from '../crypto/segmented-aead.js';
import { privateIdOf, isPrivateId } from '../format/private-id.js';
import { createProgress } from '../ui/progress.js';
import { printSummary, type SummaryFormat } from '../ui/summary.js';
import { formatBytes, parseSize } from '../units.js';
import { openInput } from './input-source.js';
import { warn } from '../ui/log.js';
import { openTarget, type TargetOptions } from './target.js';
import { ExitCode, QuietExit, S3ductError, integrityError, interruptedError } from '../errors.js';
import type { Protection } from '../crypto/stream-codec.js';
import type { Manifest } from '../format/manifest.js';
import { acquireLock } from '../resume/lock.js';
import { LocalJournal } from '../resume/local-journal.js';
import { journalAgeHeader, resumeMismatch, type Journal, type JournalHeader, type PutIdentity } from '../resume/journal-format.js';
import { ResumeJournal, loadInterrupted } from '../resume/resume-journal.js';
import { streamStateStem } from '../resume/state-dir.js';
import { crashPoint } from '../resume/crash-points.js';
import { whyJournalIsStale } from '../resume/journal-store-check.js';
import { StoreLock, refuseIfRunning } from '../resume/store-lock.js';
import { storeWhere, type Store } from '../store/store.js';
import { ResumeDivergedError } from '../pipeline/put-stream.js';
import type { InputSource } from './input-source.js';
import { openStream } from './stream-access.js';
import { openPrivateStream } from './stream-resolve.js';

export interface PutOptions extends TargetOptions {
  name?: string;
  encrypt: boolean;
  chunkSize: string;
  uploadWorkers: string;
  /** Unset: the profile's default, else STANDARD. */
  storageClass?: string;
  tag: string[];
  summary: SummaryFormat;
  overwrite?: boolean;
  restart?: boolean;
  strictResume: boolean;
  progress: boolean;
}

const MAX_CHUNK = 5 * 1024 ** 4; // S3's object limit on most stores
const MAX_PARTS = 10_000;
const MAX_KEY_BYTES = 1024;

/** S3's object tag rules, checked before anything is uploaded: a store refusing a tag is no
 *  interruption that a re-run could get past. */
const TAG_TEXT = /^[\p{L}\p{N}\p{Zs}+\-=._:/@]*$/u;
const MAX_TAGS = 10;

export function parseTags(tags: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags) {
    const i = t.indexOf('=');
    if (i <= 0) throw usageError(`invalid --tag ${JSON.stringify(t)}: use key=value`);
    const [key, value] = [t.slice(0, i), t.slice(i + 1)];
    const bad = (why: string) => usageError(`invalid --tag ${JSON.stringify(t)}: ${why}`);
    if (!TAG_TEXT.test(key) || !TAG_TEXT.test(value)) throw bad('S3 allows letters, digits, spaces and + - = . _ : / @');
    if ([...key].length > 128 || [...value].length > 256) throw bad('S3 allows keys of up to 128 and values of up to 256 characters');
    if (key.toLowerCase().startsWith('aws:')) throw bad('keys starting with aws: are reserved');
    if (key in out) throw bad(`the key ${JSON.stringify(key)} is given twice`);
    out[key] = value;
  }
  if (Object.keys(out).length > MAX_TAGS) throw usageError(`at most ${MAX_TAGS} --tag options: S3 allows ${MAX_TAGS} tags per object`);
  return out;
}

/** A private stream's name is only ever inside the encrypted manifest, so any printable text
 *  will do; a named stream's name is its object key and must pass validateStreamName. */
function checkPrivateName(name: string): string {
  if (name.length > 1024) throw usageError('stream name is longer than 1024 characters');
  if (/[\u0000-\u001f\u007f]/.test(name)) throw usageError('stream name contains control characters');
  return name;
}

export async function putCommand(file: string | undefined, o: PutOptions): Promise<void> {
  const started = Date.now();
  const fromFile = file !== undefined && file !== '-';
  if (o.name === '') throw usageError('--name is empty: give the stream a name');
  const name = o.name ?? (fromFile ? path.basename(file) : undefined);
  if (!name) throw usageError('put needs --name NAME for the stream (or a FILE, whose name is used)');
  if (file === undefined && o.passwordStdin) throw usageError('--password-stdin cannot be used when put reads the data from stdin: give a FILE, or use --password-env VAR');
  const chunkSize = parseSize(o.chunkSize, 'chunk size');
  if (chunkSize < 1 || chunkSize > MAX_CHUNK) throw usageError('--chunk-size must be between 1 byte and 5T');
  const tags = parseTags(o.tag);
  const workers = parseWorkers(o.uploadWorkers, '--upload-workers', 4);
  const target = await openTarget(o, 'put', workers);
  const { store, prefix, protection } = target;
  checkNewPrefix(prefix);
  const storageClass = parseStorageClass(o.storageClass ?? target.storageClass ?? 'STANDARD');
  if (target.privateNames) {
    checkPrivateName(name);
    if (o.overwrite) throw usageError('--overwrite does not apply with private names: every put is a new version of the name');
  } else {
    validateStreamName(name);
    if (isPrivateId(name)) throw usageError(`"${name}" has the form of a private stream id; choose another --name`);
    if (Buffer.byteLength(new StreamLayout(prefix, name).chunk(0)) > MAX_KEY_BYTES)
      throw usageError(`--prefix and --name together make object keys longer than S3's ${MAX_KEY_BYTES} bytes: shorten them`);
  }
  const input = await openInput(file);
  // S3 takes at most 10,000 parts per object: a chunk needing more would fail only when
  // reached (and again on every resume). A local directory has no parts.
  const partSize = parsePartSize(o.partSize);
  const biggest = Math.min(chunkSize, input.expectedSize ?? chunkSize);
  if (!store.location.startsWith('file:') && Math.ceil(sealedSize(biggest) / partSize) > MAX_PARTS)
    throw usageError(`a chunk size of ${o.chunkSize} needs more than ${MAX_PARTS} parts of ${formatBytes(partSize)} (S3's limit per object): raise --part-size or lower --chunk-size`);

  if (protection.mode === 'none' && o.encrypt !== false)
    warn('WARNING: no --key or --age-… option given: this backup will be stored UNENCRYPTED. Pass --key or --age-recipient to encrypt it, or --no-encrypt to say you mean it.');

  const stem = streamStateStem(store.location, prefix, name);
  const releaseLock = await acquireLock(`${stem}.lock`, `stream "${name}"`);
  let manifest;
  let id: string;
  try {
    const streamKey = (streamId: Buffer) => (target.privateNames ? privateIdOf(streamId) : name);
    ({ manifest, id } = await resumablePut({ o, store, prefix, streamKey, name, protection, chunkSize, storageClass, tags, workers, input, stem, privateNames: target.privateNames }));
  } finally {
    await releaseLock();
  }
  const sizeNow = (await input.sizeNow().catch(() => undefined)) ?? manifest.stream.size;
  if (input.expectedSize !== undefined && (manifest.stream.size !== input.expectedSize || sizeNow !== input.expectedSize))
    warn(`WARNING: the input changed while it was read: it had ${formatBytes(input.expectedSize)}, ${formatBytes(manifest.stream.size)} were read and it has ${formatBytes(sizeNow)} now; the backup holds what was read`);
  // An empty pipe is most often a producer that failed (`false | s3duct put`): a valid stream,
  // but one to say aloud, as a shell does not fail a pipeline for it without pipefail.
  if (manifest.stream.size === 0 && !fromFile && isPipe(0)) warn('WARNING: the input was empty: the stream stored is empty (did the command feeding the pipe fail? `set -o pipefail` makes the shell say so)');
  printSummary(o.summary, 'put', manifest, (Date.now() - started) / 1000, { id });
}

interface PutPlan {
  readonly o: PutOptions;
  readonly store: Store;
  readonly prefix: string;
  /** The stream's key segment: its name, or (private names) an id derived from the stream id. */
  readonly streamKey: (streamId: Buffer) => string;
  readonly privateNames: boolean;
  readonly name: string;
  readonly protection: Protection;
  readonly chunkSize: number;
  readonly storageClass: string;
  readonly tags: Record<string, string>;
  readonly workers: number;
  readonly input: InputSource;
  readonly stem: string;
  /** Starting over a put it cannot continue (age without the identity, a journal the store no
   *  longer matches): unlike --restart, this does not say that no put of the stream runs
   *  elsewhere, so a store lock stays to be acquired or refused. */
  readonly startingOver?: boolean;
}

/**
 * A put that can be interrupted at any point and continued by running it again: it picks up
 * the journal of an interrupted put of the same stream, checks it was made with the same
 * settings and key, re-reads the input against it, and uploads only what is missing.
 */
async function resumablePut(p: PutPlan): Promise<{ manifest: Manifest; id: string }> {
  const { o, store, name, protection } = p;
  const local = new LocalJournal(`${p.stem}.journal`);
  let restart = !!o.restart;
  let replacing = false;
  const interruptedHere = restart ? null : await local.read();
  const candidateId = interruptedHere ? Buffer.from(interruptedHere.header.streamId, 'hex') : randomBytes(16);
  const layout = new StreamLayout(p.prefix, p.streamKey(candidateId));
  if (p.privateNames && interruptedHere && (await store.head(layout.manifest))) {
    // A version whose put died after its manifest is complete: this put is the next version.
    if (await finishInterruptedPut(store, layout, protection, local, interruptedHere)) {
      warn(`an earlier put of "${name}" (${layout.stream}) had finished before it could clear its journal; that version is complete, and this put stores a new one`);
      return resumablePut({ ...p, o: { ...o, restart: true }, startingOver: true });
    }
  }
  if (!p.privateNames && (await store.head(layout.manifest))) {
    // Re-running a put that died after its manifest finds it complete; --overwrite means a new one.
    const finished = o.overwrite ? null : await finishInterruptedPut(store, layout, protection, local, interruptedHere);
    if (finished) {
      warn(`the interrupted put of "${layout.stream}" had already finished: the stream is complete (input not read${finished.manifest ? '' : '; its summary needs --age-identity'})`);
      if (!finished.manifest) throw new QuietExit(ExitCode.ok);
      return { manifest: finished.manifest, id: layout.stream };
    }
    if (!o.overwrite) throw conflictError(`stream "${name}" already exists at ${storeWhere(store, layout.prefix)}; choose another --name, or pass --overwrite to replace it`);
    // Any journal here belongs to the stream being replaced: the new put starts afresh.
    replacing = true;
    restart = true;
  }
  // An explicit --restart says no other put of this stream runs anywhere: its store state and
  // lock go now. Any other start-over leaves the store alone until this put holds the lock
  // (below): the state may be a put's that is running elsewhere.
  const restartNow = !!o.restart && !p.startingOver;
  if (restart) await local.remove();
  if (restartNow) {
    await refuseIfRunning(store, layout, name);
    await store.delete([layout.resume, layout.lock]);
  }
  const keyId = protectionKeyId(protection);
  const identity: PutIdentity = { location: store.location, prefix: layout.prefix, name, chunkSize: p.chunkSize, encryption: protection.mode, keyId, storageClass: p.storageClass, tags: p.tags };
  const ageRestart = restart ? null : await whyAgePutRestarts(protection, store, layout, p.privateNames, interruptedHere);
  if (ageRestart) {
    warn(`an interrupted age put of "${name}" cannot be resumed: ${ageRestart}; starting it over`);
    return resumablePut({ ...p, o: { ...o, restart: true }, startingOver: true });
  }
  // Private names: the store copy sits under an id only the local journal knows, so only a
  // local journal can be resumed (a new id would never find an old copy).
  const interrupted =
    restart || (p.privateNames && !interruptedHere) ? null : await loadInterrupted(store, layout, protection, interruptedHere, mayUseStoreJournal(protection, interruptedHere)).catch(refusedResume(name));
  if (interrupted) {
    const why = resumeMismatch(interrupted.header, identity);
    if (why) throw conflictError(`an interrupted put of "${name}" exists, but ${why}; rerun with its settings to resume it, or pass --restart to discard it`);
    const stale = await whyJournalIsStale(store, layout, interrupted);
    if (stale) {
      warn(`the interrupted put of "${name}" cannot be resumed: ${stale}; starting it over`);
      return resumablePut({ ...p, o: { ...o, restart: true }, startingOver: true });
    }
  }
  // A new stream gets a new id unless the id is already its object key (private names): an
  // id must never name two different streams, or their chunks would authenticate for each other.
  const streamId = interrupted ? Buffer.from(interrupted.header.streamId, 'hex') : p.privateNames ? candidateId : randomBytes(16);
  const codec = await codecForPut(protection, streamId, interrupted ? journalAgeHeader(interrupted.header) : undefined).catch(refusedResume(name));
  const id = streamId.toString('hex');
  // A private stream is locked under its id as well: no other put shares the id, but a
  // delete of it (by id, from this machine or another) must not run under this put.
  const releaseIdLock = p.privateNames ? await acquireLock(`${streamStateStem(store.location, p.prefix, layout.stream)}.lock`, `stream ${layout.stream}`) : undefined;
  const lock = await StoreLock.acquire(store, layout, name, id).catch(async (e) => {
    await releaseIdLock?.();
    throw e;
  });
  // What was checked before the lock may have changed until it was held: another put may
  // have finished the stream, a delete or a --restart elsewhere removed what the journal
  // records. Asked again under the lock, which keeps those out from now on.
  const changed = (!p.privateNames && !replacing && (await store.head(layout.manifest)) ? 'exists' : undefined) ?? (interrupted ? await whyJournalIsStale(store, layout, interrupted) : undefined);
  if (changed) {
    await lock.release().catch(() => {});
    await releaseIdLock?.();
    if (changed === 'exists') throw conflictError(`stream "${name}" already exists at ${storeWhere(store, layout.prefix)} (another put finished it a moment ago); choose another --name, or pass --overwrite to replace it`);
    warn(`the interrupted put of "${name}" cannot be resumed: ${changed}; starting it over`);
    return resumablePut({ ...p, o: { ...o, restart: true }, startingOver: true });
  }
  // Once this put holds the stream: the interrupted put it starts over loses its store copy,
  // and a replaced stream its manifest (never left claiming chunks about to be replaced).
  const superseded = [...(restart && !restartNow ? [layout.resume] : []), ...(replacing ? [layout.manifest] : [])];
  if (superseded.length) await store.delete(superseded);
  if (interrupted) warn(`resuming the interrupted put of "${name}": ${interrupted.chunks.length} chunks already stored; re-reading the input to check them`);
  const journal = new ResumeJournal(store, layout, local, async () => lock.confirm(name));
  await journal.begin(interrupted?.header ?? newJournalHeader(streamId, identity, codec), interrupted?.chunks ?? []);
  // Uploads a crashed put left half-done would bill forever: this put owns the stream (locked).
  await store.abortUploads(layout.chunksDir);

  const progress = await createProgress({ verb: 'put', enabled: o.progress, totalBytes: p.input.expectedSize });
  const stopOnSignal = interruptOnSignal(p.input);
  let stored = interrupted?.chunks.length ?? 0;
  try {
    const manifest = await putStream({
      store,
      layout,
      name,
      streamId,
      codec,
      input: p.input.reader,
      chunkSize: p.chunkSize,
      storageClass: p.storageClass,
      tags: p.tags,
      concurrency: p.workers,
      source: p.input.info,
      resume: interrupted?.chunks,
      events: {
        onAcked: (n) => progress.advance(n),
        onChunkVerified: (r) => progress.advance(r.storedSize),
        onChunkStored: async (rec) => {
          crashPoint('after-ack', rec.index);
          await journal.record(rec, codec);
          crashPoint('after-journal', rec.index);
          stored++;
          progress.chunkDone();
        },
        beforeChunkCommit: async () => lock.confirm(name),
        beforeManifest: async () => lock.check(name),
      },
    });
    crashPoint('after-manifest');
    // The stream is complete from here on: what follows tidies up, and a failure of it is a
    // warning, never a backup reported as interrupted.
    let tidied = true;
    const leftover = (what: string) => (e: any) => {
      tidied = false;
      warn(`the stream is complete, but ${what} failed (${e?.message ?? e}); running the same put again finishes the tidying`);
    };
    // Before the lock goes: a put that replaced the stream the moment it went would lose its
    // first chunks and uploads to this tidying.
    await tidyFinished(store, layout, manifest.chunks.length).catch(leftover('removing leftovers from earlier attempts'));
    await lock.release().catch(leftover('removing its lock'));
    crashPoint('after-unlock');
    // Last, and only once the rest is done: while the journal exists, a rerun (after a crash
    // here, or a failed step above) knows this complete stream for its own and finishes the
    // tidying (finishedByInterruptedPut) instead of calling the stream another put's.
    if (tidied) await journal.discard().catch(leftover('removing its resume journal'));
    else await journal.close();
    return { manifest, id: layout.stream };
  } catch (e) {
    await lock.stopped().catch(() => {}); // kept, marked stopped: the next run takes it over
    if (e instanceof ResumeDivergedError) {
      if (o.strictResume !== false) throw integrityError(`${e.message}. Nothing was changed; fix the input, or pass --restart to start this stream over`);
      await journal.discard();
      await lock.release();
      throw interruptedError(`${e.message}; --no-strict-resume: the interrupted put was discarded, run the same command again to start over`);
    }
    await journal.copyToStore(codec).catch(() => {});
    await journal.close();
    const signal = stopOnSignal.signal();
    if (signal) throw interruptedError(`interrupted by ${signal} with ${stored} chunks stored; run the same command again to resume`);
    if (e instanceof S3ductError && e.exitCode === ExitCode.failure)
      throw interruptedError(`${e.message}; ${stored} chunks stored, run the same command again to resume`);
    throw e;
  } finally {
    stopOnSignal.dispose();
    progress.stop();
    await releaseIdLock?.();
  }
}

function newJournalHeader(streamId: Buffer, identity: PutIdentity, codec: StreamCodec): JournalHeader {
  const spec = codec.chunkSpec;
  return {
    journal: 's3duct-resume',
    version: 1,
    streamId: streamId.toString('hex'),
    ...identity,
    createdAt: new Date().toISOString(),
    ...(spec.mode === 'age' && { ageHeader: Buffer.from(spec.header).toString('base64') }),
  };
}

/** An interrupted put whose journal or file key this put's key cannot open is another key's
 *  put: refused like any other mismatch (exit 7), not reported as this put's wrong key. */
function refusedResume(name: string): (e: unknown) => never {
  return (e) => {
    if (!(e instanceof S3ductError && (e.exitCode === ExitCode.auth || e.exitCode === ExitCode.usage))) throw e;
    throw conflictError(`an interrupted put of "${name}" exists, but this put's key does not open it (${e.message}); rerun with its key to resume it, or pass --restart to discard it`);
  };
}

/** First SIGINT/SIGTERM/SIGHUP: stop reading input and let stored chunks be journaled; second: exit now. */
function interruptOnSignal(input: InputSource): { signal(): string | undefined; dispose(): void } {
  let caught: string | undefined;
  const handler = (sig: NodeJS.Signals) => {
    if (caught) process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15));
    caught = sig;
    warn(`${sig}: stopping; waiting for uploads in flight to be acknowledged (again to exit at once)`);
    input.stop(interruptedError(`interrupted by ${sig}`));
  };
  // SIGHUP too: the terminal of a put started by hand was closed.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.on(s, handler);
  return {
    signal: () => caught,
    dispose: () => {
      for (const s of signals) process.off(s, handler);
    },
  };
}

/** Removes what a finished stream no longer needs: chunks past its end, from an earlier and
 *  longer attempt, and uploads a create whose answer was lost and retried left open (this
 *  put's own are all complete now, so anything still open under the stream is such an orphan). */
async function tidyFinished(store: Store, layout: StreamLayout, count: number): Promise<void> {
  const extra: string[] = [];
  for await (const o of store.list(layout.chunksDir)) {
    const index = Number(o.key.slice(layout.chunksDir.length));
    if (Number.isInteger(index) && index >= count) extra.push(o.key);
  }
  if (extra.length) await store.delete(extra);
  await store.abortUploads(layout.chunksDir);
}

/**
 * A put killed after writing its manifest but before clearing its journal: running it again
 * finds the stream complete, tidies what the crash left, clears the journal and returns the
 * manifest (none for an age put that cannot open it). Null when the stream is not that put's.
 * Only this machine's journal counts: another machine's put of the same name, finding the
 * store copy, has other input to store and must not take the stream for its own.
 */
async function finishInterruptedPut(
  store: Store,
  layout: StreamLayout,
  protection: Protection,
  local: LocalJournal,
  mine: Journal | null,
): Promise<{ manifest?: Manifest } | null> {
  if (!mine) return null;
  let manifest: Manifest | undefined;
  if (protection.mode === 'age' && !canUnwrapAge(protection.keys)) {
    // It cannot open the manifest, but can tell it is its own (age-resume.ts); and only a
    // journal that reached the last chunk can have written it.
    if (!mine.chunks.at(-1)?.last || !(await isOwnAgeManifest(store, layout, mine))) return null;
  } else {
    const open = isPrivateId(layout.stream) ? openPrivateStream : openStream;
    ({ manifest } = await open(store, layout.prefix, layout.stream, protection));
    // This machine's journal, every chunk of it the manifest's: the stream of the same id may
    // have been finished elsewhere from the store copy, with other input after some chunk.
    const m = manifest;
    const same = manifest.streamId === mine.header.streamId && mine.chunks.length === m.chunks.length && mine.chunks.every((c, i) => c.chain === m.chunks[i]!.chain);
    if (!same) return null;
    await tidyFinished(store, layout, manifest.chunks.length);
  }
  await store.delete([layout.lock]); // the finished put's, left by its crash
  await new ResumeJournal(store, layout, local).discard(); // last, as in resumablePut
  return manifest ? { manifest } : {};
}

function isPipe(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false;
  }
}
