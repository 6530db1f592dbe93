import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = path.join(REPO, 'bin', 's3duct.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Resume journals of the CLI runs in this test process: never the user's own state dir. */
let stateDir: string | undefined;
function testStateDir(): string {
  if (!stateDir) {
    stateDir = mkdtempSync(path.join(tmpdir(), 's3duct-state-'));
    process.on('exit', () => rmSync(stateDir!, { recursive: true, force: true }));
  }
  return stateDir;
}

/** Runs the real CLI in a child process, as a user's shell would. */
export function runCli(
  args: string[],
  /** `stdinFd`: a descriptor the child gets as stdin, like a shell's `< file`, instead of `input`. */
  opts: { input?: Buffer | string; stdinFd?: number; env?: Record<string, string | undefined>; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, S3DUCT_DEBUG: '', S3DUCT_STATE_DIR: testStateDir(), ...opts.env },
      stdio: [opts.stdinFd ?? 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (d) => out.push(d));
    child.stderr!.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }));
    child.stdin?.on('error', () => {});
    child.stdin?.end(opts.input ?? '');
  });
}

export function tempDir(label: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), `s3duct-${label}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random bytes, so a failure reproduces. */
export function testBytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export const KEY_HEX = 'a'.repeat(16) + 'b'.repeat(16) + 'c'.repeat(16) + '0123456789abcdef';
export const OTHER_KEY_HEX = 'f'.repeat(64);

/** A user error as s3duct must give it: its exit code, and one line saying what is wrong. */
export function expectOneLine(r: CliResult, code: number, message: RegExp): void {
  assert.equal(r.code, code, r.stderr.toString());
  assert.match(r.stderr.toString(), message);
  assert.equal(r.stderr.toString().trim().split('\n').length, 1, r.stderr.toString());
}
