// Real S3-speaking servers on loopback for tests: moto (in-memory, models storage classes and
// restores) and OpenStack Swift's s3api (a production S3 implementation).
// Self-contained on purpose (node: built-ins only, no AWS SDK) so a bug in the code under test
// cannot hide in the harness that checks it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { accessSync, constants, existsSync, openSync, closeSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface S3Server {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  kind: 'moto' | 'swift';
  stop(): Promise<void>;
}

export interface S3Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const MOTO_INSTALL = "pip install 'moto[server]==5.2.1'";
const SWIFT_INSTALL =
  'apt-get install -y swift swift-proxy swift-account swift-container swift-object python3-swift memcached';
const START_ATTEMPTS = 4;

// ---------------------------------------------------------------------------------------------
// Clean-up of everything still running when the process ends, however it ends: a test that
// throws before stop() must not leave servers behind (CI reuses the machine).

const killers = new Set<() => void>();
let hooked = false;

function onExit(kill: () => void): () => void {
  if (!hooked) {
    hooked = true;
    process.on('exit', killAll);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(sig, () => {
        killAll();
        // Our listener is gone now, so unless someone else listens this re-raise terminates
        // the process the way the signal would have.
        process.kill(process.pid, sig);
      });
    }
  }
  killers.add(kill);
  return () => killers.delete(kill);
}

function killAll(): void {
  for (const kill of killers) {
    try {
      kill();
    } catch {
      // best effort: the process is going away anyway
    }
  }
  killers.clear();
}

// Children are started as group leaders (detached / setsid), so signalling the negative pid
// also reaches their workers.
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function which(cmd: string): string | undefined {
  // pyenv's shims are where moto lives on this project's machines, even when a non-login
  // shell (cron, CI) did not put them on PATH.
  const pyenv = path.join(process.env.HOME ?? '/root', '.pyenv', 'shims');
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), pyenv]) {
    if (!dir) continue;
    const file = path.join(dir, cmd);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function tail(file: string, lines = 40): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

const close = (srv: net.Server) => new Promise<void>((resolve) => srv.close(() => resolve()));

/** A port p such that p..p+count-1 are all free on 127.0.0.1 right now. */
async function freePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await listen(0);
    const port = (first.address() as net.AddressInfo).port;
    const held = [first];
    try {
      for (let i = 1; i < count; i++) held.push(await listen(port + i));
      return port;
    } catch {
      // a neighbour is taken: draw again
    } finally {
      await Promise.all(held.map(close));
    }
  }
  throw new Error(`no run of ${count} free ports found on 127.0.0.1`);
}

/** True once anything answers HTTP on the port (any status). */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

// Another process may take the port between our probe and the server's bind.
const BIND_CLASH = /address already in use|could not bind/i;

class StartError extends Error {
  constructor(message: string, readonly clash: boolean) {
    super(message);
  }
}

async function withRetries(start: () => Promise<S3Server>): Promise<S3Server> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (!(err instanceof StartError && err.clash && attempt < START_ATTEMPTS)) throw err;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// moto

export async function startMoto(): Promise<S3Server> {
  const bin = which('moto_server');
  if (!bin) throw new Error(`moto_server not found on PATH: ${MOTO_INSTALL}`);
  return withRetries(() => startMotoOnce(bin));
}

async function startMotoOnce(bin: string): Promise<S3Server> {
  const port = await freePorts(1);
  const dir = await mkdtemp(path.join(tmpdir(), 's3duct-moto-'));
  const log = path.join(dir, 'moto.log');
  const fd = openSync(log, 'w');
  let child: ChildProcess;
  try {
    // A file, not a pipe, for its output: nothing to drain, and it survives for the error text.
    child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', fd, fd],
      detached: true,
    });
  } finally {
    closeSync(fd);
  }
  // Let the test process end without stop(); the exit hook then kills moto.
  child.unref();
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  child.once('error', (err) => (exited = `failed to run: ${err.message}`));
  // Until node has reaped the child its pid cannot be reused, so this never hits a stranger.
  const running = () => child.exitCode === null && child.signalCode === null;
  const unhook = onExit(() => {
    if (running()) killGroup(child.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const cleanup = async () => {
    unhook();
    if (running()) killGroup(child.pid, 'SIGTERM');
    for (let i = 0; i < 50 && running(); i++) await sleep(100);
    if (running()) killGroup(child.pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!exited) {
      // Werkzeug logs "Running on" only after binding, which shows that the server answering
      // on this port is ours rather than one that got the port first.
      const text = await readFile(log, 'utf8').catch(() => '');
      if (text.includes('Running on') && (await answers(port))) break;
    }
    if (exited || Date.now() > deadline) {
      const why = exited ?? 'did not answer within 30 s';
      const logTail = await tail(log);
      await cleanup();
      throw new StartError(`moto_server on port ${port} ${why}; log:\n${logTail}`, BIND_CLASH.test(logTail));
    }
    await sleep(100);
  }

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKeyId: 'test',
    secretAccessKey: 'test',
    kind: 'moto',
    stop: () => (stopped ??= cleanup()),
  };
}

// ---------------------------------------------------------------------------------------------
// OpenStack Swift

const SWIFT_BINARIES = [
  'swift-proxy-server',
  'swift-account-server',
  'swift-container-server',
  'swift-object-server',
  'swift-ring-builder',
  'memcached',
];

/**
 * test/harness/swift/ holds start.sh and stop.sh. The compiled module may sit elsewhere
 * (dist/test/harness/, or any outDir), so look upwards from the module and from the working
 * directory; S3DUCT_SWIFT_SCRIPTS overrides.
 */
function swiftScripts(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [process.env.S3DUCT_SWIFT_SCRIPTS, path.join(here, 'swift')].filter((d): d is string => !!d);
  for (const start of [here, process.cwd()]) {
    for (let dir = start; ; dir = path.dirname(dir)) {
      candidates.push(path.join(dir, 'test', 'harness', 'swift'));
      if (path.dirname(dir) === dir) break;
    }
  }
  const found = candidates.find((dir) => existsSync(path.join(dir, 'start.sh')));
  if (!found) throw new Error('test/harness/swift/start.sh not found (set S3DUCT_SWIFT_SCRIPTS to its folder)');
  return found;
}

function run(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  onSpawn?: (child: ChildProcess) => void,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    onSpawn?.(child);
    const chunks: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => chunks.push(b));
    child.stderr!.on('data', (b: Buffer) => chunks.push(b));
    const timer = setTimeout(() => {
      chunks.push(Buffer.from(`\n(${path.basename(script)} killed after ${timeoutMs / 1000} s)\n`));
      killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => chunks.push(Buffer.from(String(err))));
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: Buffer.concat(chunks).toString() });
    });
  });
}

export async function startSwift(): Promise<S3Server> {
  const missing = SWIFT_BINARIES.filter((b) => !which(b));
  if (missing.length) throw new Error(`OpenStack Swift not found (missing ${missing.join(', ')}): ${SWIFT_INSTALL}`);
  const scripts = swiftScripts();
  return withRetries(() => startSwiftOnce(scripts));
}

async function startSwiftOnce(scripts: string): Promise<S3Server> {
  // PORT proxy, PORT+1 memcached, PORT+2..+4 account/container/object (see start.sh).
  const port = await freePorts(5);
  const root = await mkdtemp(path.join(tmpdir(), 's3duct-swift-'));
  const env = { ...process.env, SWIFT_ROOT: root };
  const runDir = path.join(root, 'run');
  let starter: ChildProcess | undefined;

  const killNow = () => {
    if (starter && starter.exitCode === null && starter.signalCode === null) killGroup(starter.pid, 'SIGKILL');
    // stop.sh deletes these once the servers are gone, so a leftover pid file means still running.
    let pidFiles: string[] = [];
    try {
      pidFiles = readdirSync(runDir).filter((f) => f.endsWith('.pid'));
    } catch {
      // not started yet
    }
    for (const f of pidFiles) {
      try {
        killGroup(Number(readFileSync(path.join(runDir, f), 'utf8')), 'SIGKILL');
      } catch {
        // raced with stop.sh
      }
    }
    rmSync(root, { recursive: true, force: true });
  };
  const unhook = onExit(killNow);

  const started = await run(path.join(scripts, 'start.sh'), [String(port)], env, 90_000, (c) => (starter = c));
  if (started.code !== 0) {
    // start.sh stops what it started on failure; this catches a start.sh killed by our timeout.
    killNow();
    unhook();
    const clash = BIND_CLASH.test(started.output);
    throw new StartError(`Swift on port ${port} did not start:\n${started.output.split('\n').slice(-60).join('\n')}`, clash);
  }

  const cleanup = async () => {
    const res = await run(path.join(scripts, 'stop.sh'), [String(port)], env, 30_000);
    killNow();
    unhook();
    if (res.code !== 0) throw new Error(`swift stop.sh failed:\n${res.output}`);
  };
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKeyId: 'test:tester',
    secretAccessKey: 'testing',
    kind: 'swift',
    stop: () => (stopped ??= cleanup()),
  };
}

// ---------------------------------------------------------------------------------------------
// AWS Signature Version 4, path-style, just enough for the harness and smoke tests.

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

// RFC 3986 unreserved characters stay; everything else is %-encoded, as SigV4 requires.
const uriEncode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

/**
 * Sends one SigV4-signed request. `target` is the unencoded path ("/bucket/key with spaces"); query values
 * too. The whole body is hashed into the signature (no UNSIGNED-PAYLOAD, no chunked encoding).
 */
export function s3Request(
  server: S3Server,
  method: string,
  target: string,
  opts: { query?: Record<string, string>; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<S3Response> {
  const url = new URL(server.endpoint);
  const body = opts.body === undefined ? Buffer.alloc(0) : Buffer.from(opts.body);
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256(body);

  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = String(v).trim();
  headers.host = url.host;
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = payloadHash;
  headers['content-length'] = String(body.length);

  const canonicalUri = target.split('/').map(uriEncode).join('/');
  const canonicalQuery = Object.entries(opts.query ?? {})
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    method,
    canonicalUri,
    canonicalQuery,
    names.map((n) => `${n}:${headers[n]}\n`).join(''),
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${day}/${server.region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${server.secretAccessKey}`, day), server.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  headers.authorization =
    `AWS4-HMAC-SHA256 Credential=${server.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`;

  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: canonicalUri + (canonicalQuery ? `?${canonicalQuery}` : ''),
        headers,
        // No pooled keep-alive sockets: servers come and go between tests.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function createBucket(server: S3Server, name: string): Promise<void> {
  const res = await s3Request(server, 'PUT', `/${name}`);
  if (res.status === 200) return;
  const code = /<Code>([^<]*)<\/Code>/.exec(res.body.toString())?.[1];
  if (code === 'BucketAlreadyOwnedByYou') return;
  throw new Error(`create bucket ${name} on ${server.kind}: HTTP ${res.status} ${code ?? ''}\n${res.body.toString()}`);
}
