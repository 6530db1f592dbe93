/**
 * Every failure a user can meet is an S3ductError carrying one exit code from this table.
 * The table is part of the CLI contract (README, --help): scripts branch on these numbers.
 */
export const ExitCode = {
  ok: 0,
  /** I/O, network or store failure that is not one of the specific cases below. */
  failure: 1,
  /** The data exists but is archived and not (yet) readable: restore it first. */
  notReady: 2,
  /** Bad flags, arguments or option values. */
  usage: 3,
  /** Verification failed: corruption, tampering, a missing/reordered chunk. */
  integrity: 4,
  /** Stream, object or bucket not found. */
  notFound: 5,
  /** Interrupted; running the same put again resumes. */
  interrupted: 6,
  /** The target exists or is busy (complete stream, lock held by another put). */
  conflict: 7,
  /** Wrong key, password or identity; access denied by the store. */
  auth: 8,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODE_TABLE: ReadonlyArray<readonly [number, string]> = [
  [ExitCode.ok, 'success'],
  [ExitCode.failure, 'error: I/O, network or store failure'],
  [ExitCode.notReady, 'archived data not readable yet (restore it first; head: not readable)'],
  [ExitCode.usage, 'usage error: bad option, argument or value'],
  [ExitCode.integrity, 'integrity error: verification failed, data corrupt or tampered, or the input changed under a put'],
  [ExitCode.notFound, 'not found: stream, object or bucket'],
  [ExitCode.interrupted, 'interrupted: run the same put again to resume (an interrupted get leaves no output file)'],
  [ExitCode.conflict, 'conflict: stream exists or is locked by another put or delete'],
  [ExitCode.auth, 'wrong key, password or identity, or access denied'],
];

export class S3ductError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
    this.name = 'S3ductError';
  }
}

/** A failure that belongs to one chunk of a stream, so callers (verify) can report it per
 *  chunk without reading the message. */
export class ChunkError extends S3ductError {
  constructor(
    readonly chunk: number,
    cause: S3ductError,
  ) {
    super(cause.message, cause.exitCode);
  }
}

/** Tags an S3ductError with the chunk it belongs to; other errors pass through untouched. */
export function atChunk(chunk: number, e: unknown): unknown {
  return e instanceof S3ductError && !(e instanceof ChunkError) ? new ChunkError(chunk, e) : e;
}

export const usageError = (m: string) => new S3ductError(m, ExitCode.usage);
export const integrityError = (m: string) => new S3ductError(m, ExitCode.integrity);
export const notFoundError = (m: string) => new S3ductError(m, ExitCode.notFound);
export const authError = (m: string) => new S3ductError(m, ExitCode.auth);
export const conflictError = (m: string) => new S3ductError(m, ExitCode.conflict);
export const notReadyError = (m: string) => new S3ductError(m, ExitCode.notReady);
export const failure = (m: string) => new S3ductError(m, ExitCode.failure);
export const interruptedError = (m: string) => new S3ductError(m, ExitCode.interrupted);

/** Ends the command with `exitCode` after it has already said what happened (head's status
 *  line): main prints nothing more. */
export class QuietExit extends S3ductError {
  constructor(exitCode: ExitCodeValue) {
    super('', exitCode);
  }
}
