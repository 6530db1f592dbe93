// A fault-injecting HTTP proxy on loopback, in front of one of the harness's S3 servers, so
// tests can show that the real CLI survives (or fails cleanly under) resets, errors, stalls and
// truncated bodies, and can count exactly which requests reached the store.
// node: built-ins only, like servers.ts: the code under test must not be able to hide in here.
import http from 'node:http';
import type net from 'node:net';
import type { S3Server } from './servers.js';

// ---------------------------------------------------------------------------------------------
// Public contract

/**
 * The S3 operation a request performs, told from method, path and query (path-style
 * addressing only: `/bucket/key`, which is what the SDK uses with a custom endpoint).
 * Anything not recognised is named by its method, e.g. `'PATCH'`.
 */
export type S3Op =
  | 'ListBuckets'
  | 'CreateBucket'
  | 'DeleteBucket'
  | 'HeadBucket'
  | 'ListObjectsV2'
  | 'ListObjects'
  | 'ListMultipartUploads'
  | 'DeleteObjects'
  | 'PutObject'
  | 'CopyObject'
  | 'UploadPart'
  | 'CreateMultipartUpload'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'RestoreObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | string;

/**
 * What the proxy can do to a request instead of passing it through.
 * - `reset`: the connection is destroyed before anything is forwarded; the store never sees
 *   the request.
 * - `reset-mid-request`: up to half of the request body is read, then the connection is
 *   destroyed; the store never sees the request (a network drop during an upload).
 * - `lost-response`: the request is forwarded and the store answers (so a PUT is committed),
 *   then the connection is destroyed before the client gets a byte of the answer.
 * - `truncate`: the store's status, headers and the first half of its body reach the client,
 *   then the connection is destroyed. An empty body cannot be cut, so such a response is
 *   lost whole instead (as `lost-response`).
 * - `internal-error`: an S3-style `500 InternalError` is returned without contacting the store.
 * - `slow-down`: an S3-style `503 SlowDown` is returned without contacting the store.
 * - `stall`: the request waits `stallMs` before it is forwarded normally.
 */
export type FaultKind = 'reset' | 'reset-mid-request' | 'lost-response' | 'truncate' | 'internal-error' | 'slow-down' | 'stall';

/** Describes requests. Every field given must match; `{}` matches everything. */
export interface RequestFilter {
  /** One operation or any of several. */
  readonly op?: S3Op | readonly S3Op[];
  /** HTTP method, upper case. */
  readonly method?: string;
  /** The decoded object key (no bucket): equal to a string, or tested by a RegExp. */
  readonly key?: string | RegExp;
}

/** A filter, or any predicate over the request as first seen (no status yet). */
export type RequestMatcher = RequestFilter | ((r: ProxiedRequest) => boolean);

/**
 * One fault rule. A request that `match`es is eligible; it gets a fault when it is one of the
 * `nth` eligible requests, or else with probability `rate` (drawn from the proxy's seeded
 * PRNG), as long as fewer than `maxFaults` were injected by this rule.
 */
export interface FaultRule {
  /** Default: every request. */
  readonly match?: RequestMatcher;
  /** Which faults; one is drawn uniformly (seeded) per injection. */
  readonly kinds: readonly FaultKind[];
  /** Probability per eligible request, 0..1. Default 0 (only `nth` faults). */
  readonly rate?: number;
  /** 1-based positions among this rule's eligible requests that always get a fault. */
  readonly nth?: readonly number[];
  /** Upper bound on faults from this rule. Default: unbounded. */
  readonly maxFaults?: number;
  /** Delay for `stall`, ms. Default 200; at most MAX_STALL_MS. */
  readonly stallMs?: number;
}

export interface FaultProxyOptions {
  /** Rules tried in order; the first that fires decides the fault. Default: none. */
  readonly faults?: FaultRule | readonly FaultRule[];
  /** PRNG seed: the same seed and the same arrival order give the same faults. Default 1. */
  readonly seed?: number;
}

/** One request as the proxy saw it. Objects returned by the API are snapshots. */
export interface ProxiedRequest {
  /** 1-based arrival order. */
  readonly seq: number;
  readonly op: S3Op;
  readonly method: string;
  /** Path as sent (percent-encoded), without the query. */
  readonly path: string;
  /** Query parameters, decoded. */
  readonly query: Readonly<Record<string, string>>;
  readonly bucket: string | undefined;
  /** The decoded object key, if the request names an object. */
  readonly key: string | undefined;
  /** The fault injected, if any. */
  readonly fault: FaultKind | undefined;
  /** Status the store answered with; undefined if the store was not asked or did not answer. */
  readonly upstreamStatus: number | undefined;
  /** Status the client received; undefined if its connection was cut before the headers. */
  readonly status: number | undefined;
}

/** Requests held by `FaultProxy.hold` until released. */
export interface Gate {
  /** Resolves once `n` requests (default 1) have been held since the gate was created. */
  waitHeld(n?: number): Promise<ProxiedRequest[]>;
  /** The requests held so far (released or not). */
  held(): ProxiedRequest[];
  /**
   * Lets every held request go on and stops holding new ones. A request whose client has gone
   * meanwhile is dropped: one held before the store is never forwarded (its body may be
   * incomplete); one held after the store answered has already been applied by the store.
   */
  release(): void;
}

export interface HoldOptions {
  /**
   * `before-upstream` (default): the store has not seen the request.
   * `after-upstream`: the store has answered (a PUT is committed) but the client has not
   * heard: the window between a store's acknowledgement and the client acting on it.
   */
  readonly at?: 'before-upstream' | 'after-upstream';
}

export interface FaultProxy {
  /** `http://127.0.0.1:PORT`: point the client here instead of at the server. */
  readonly endpoint: string;
  readonly upstream: S3Server;
  /**
   * The upstream server as seen through the proxy (same credentials, the proxy's endpoint), for
   * harness helpers such as s3Request and createBucket. Its stop() stops the proxy, not the store.
   */
  readonly server: S3Server;
  /**
   * Requests the store answered with 2xx, by `"<op> <key>"` (key "" when none), e.g.
   * `"UploadPart s/chunks/00000003"`. Faulted requests that the store never saw are not
   * counted; a `lost-response` or `truncate` one is (the store did the work).
   */
  counts(): Map<string, number>;
  /** How many requests match, whatever their outcome, unless `acknowledged` asks for 2xx from the store only. */
  count(match: RequestMatcher, opts?: { acknowledged?: boolean }): number;
  /** Every request so far, in arrival order. */
  requests(): ProxiedRequest[];
  /** Forgets the request log (not the fault rules' counters). */
  clearLog(): void;
  /** Replaces the fault rules; their counters restart at zero. The PRNG continues. */
  setFaults(faults: FaultRule | readonly FaultRule[]): void;
  /** Faults injected so far, over all rules set since start. */
  faultsInjected(): number;
  /** Holds matching requests from now on until the gate is released. */
  hold(match: RequestMatcher, opts?: HoldOptions): Gate;
  /** Closes the listener and every connection; held requests are dropped. Idempotent. */
  stop(): Promise<void>;
}

/** Stalls are bounded so a test cannot hang on a typo. */
export const MAX_STALL_MS = 10_000;

/**
 * Starts a proxy on a free loopback port that forwards every request to `upstream`
 * unchanged (method, path, query, headers — the Host header included, so a SigV4 signature
 * made for the proxy's address still verifies: the store checks the Host it receives) apart
 * from hop-by-hop headers and `Expect` (which SigV4 never signs), injecting the faults the
 * rules ask for.
 */
export async function startFaultProxy(upstream: S3Server, opts: FaultProxyOptions = {}): Promise<FaultProxy> {
  const up = new URL(upstream.endpoint);
  const agent = new http.Agent({ keepAlive: true });
  const random = mulberry32(opts.seed ?? 1);
  let rules: RuleState[] = [];
  let injected = 0;
  let log: Entry[] = [];
  let seq = 0;
  const gates = new Set<GateState>();
  const sockets = new Set<net.Socket>();

  const setFaults = (f: FaultRule | readonly FaultRule[]) => {
    rules = (Array.isArray(f) ? f : [f as FaultRule]).map((rule) => {
      validateRule(rule);
      return { rule, eligible: 0, fired: 0 };
    });
  };
  setFaults(opts.faults ?? []);

  /** Decides the fault for a request; consumes PRNG draws only for eligible requests. */
  const decide = (r: ProxiedRequest): { kind: FaultKind; stallMs: number } | undefined => {
    for (const s of rules) {
      if (!matches(s.rule.match ?? {}, r)) continue;
      s.eligible++;
      const capped = s.fired >= (s.rule.maxFaults ?? Infinity);
      const byNth = s.rule.nth?.includes(s.eligible) ?? false;
      const byRate = (s.rule.rate ?? 0) > 0 && random() < s.rule.rate!;
      if (capped || !(byNth || byRate)) continue;
      s.fired++;
      injected++;
      const kind = s.rule.kinds[Math.floor(random() * s.rule.kinds.length)]!;
      return { kind, stallMs: s.rule.stallMs ?? 200 };
    }
    return undefined;
  };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err) => {
      // Most likely a test's own predicate threw: say so rather than pass for a network fault.
      console.error('fault-proxy: request handling failed:', err);
      req.socket.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const entry = describe(++seq, req);
    log.push(entry);
    const snapshot = () => ({ ...entry });
    let clientGone = false;
    res.on('close', () => (clientGone = !res.writableFinished));

    const fault = decide(snapshot());
    entry.fault = fault?.kind;
    switch (fault?.kind) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'reset-mid-request':
        await readSome(req, Number(req.headers['content-length'] ?? 0) / 2);
        req.socket.destroy();
        return;
      // The body is read first so that a client still sending it hears the answer, as from S3.
      case 'internal-error':
        await drain(req);
        return sendError(res, entry, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      case 'slow-down':
        await drain(req);
        return sendError(res, entry, 503, 'SlowDown', 'Please reduce your request rate.');
      case 'stall':
        await sleep(fault.stallMs);
        break;
    }

    await passGates('before-upstream', entry, snapshot);
    if (clientGone || req.socket.destroyed) return;

    let answer: { status: number; headers: string[]; body: Buffer };
    try {
      answer = await forward(req, up, agent);
    } catch {
      // The store (or the client mid-body) broke the exchange: pass the break on.
      req.socket.destroy();
      return;
    }
    entry.upstreamStatus = answer.status;

    await passGates('after-upstream', entry, snapshot);
    if (clientGone || req.socket.destroyed) return;

    if (fault?.kind === 'lost-response' || (fault?.kind === 'truncate' && answer.body.length === 0)) {
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, answer.headers);
    entry.status = answer.status;
    if (fault?.kind === 'truncate') {
      res.flushHeaders();
      res.write(answer.body.subarray(0, Math.floor(answer.body.length / 2)), () => req.socket.destroy());
      return;
    }
    res.end(answer.body);
  }

  async function passGates(at: 'before-upstream' | 'after-upstream', entry: Entry, snapshot: () => ProxiedRequest): Promise<void> {
    for (const g of gates) {
      if (g.at !== at || g.released || !matches(g.match, snapshot())) continue;
      g.heldList.push(entry);
      g.notify();
      await g.releasedPromise;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;

  let stopped: Promise<void> | undefined;
  const stop = async () => {
    for (const g of gates) g.release();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
    agent.destroy();
  };

  return {
    endpoint,
    upstream,
    server: { ...upstream, endpoint, stop: () => (stopped ??= stop()) },
    counts() {
      const m = new Map<string, number>();
      for (const e of log) {
        if (!isOk(e.upstreamStatus)) continue;
        const k = `${e.op} ${e.key ?? ''}`;
        m.set(k, (m.get(k) ?? 0) + 1);
      }
      return m;
    },
    count(match, o = {}) {
      return log.filter((e) => matches(match, e) && (!o.acknowledged || isOk(e.upstreamStatus))).length;
    },
    requests: () => log.map((e) => ({ ...e })),
    clearLog: () => {
      log = [];
    },
    setFaults,
    faultsInjected: () => injected,
    hold(match, o = {}) {
      const g = newGate(match, o.at ?? 'before-upstream', () => gates.delete(g));
      gates.add(g);
      return g;
    },
    stop: () => (stopped ??= stop()),
  };
}

// ---------------------------------------------------------------------------------------------
// Request naming and matching

interface RuleState {
  readonly rule: FaultRule;
  /** Eligible requests seen, for `nth`. */
  eligible: number;
  fired: number;
}

type Entry = { -readonly [K in keyof ProxiedRequest]: ProxiedRequest[K] };

function describe(seq: number, req: http.IncomingMessage): Entry {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const query = Object.fromEntries(url.searchParams);
  const segments = url.pathname.split('/').slice(1);
  const bucket = segments[0] ? decodeURIComponent(segments[0]) : undefined;
  const key = segments.length > 1 && segments.slice(1).join('/') ? decodeURIComponent(segments.slice(1).join('/')) : undefined;
  const method = req.method ?? 'GET';
  return {
    seq,
    op: operation(method, bucket, key, query, req.headers),
    method,
    path: url.pathname,
    query,
    bucket,
    key,
    fault: undefined,
    upstreamStatus: undefined,
    status: undefined,
  };
}

function operation(method: string, bucket: string | undefined, key: string | undefined, q: Record<string, string>, h: http.IncomingHttpHeaders): S3Op {
  const has = (p: string) => p in q;
  if (!bucket) return method === 'GET' ? 'ListBuckets' : method;
  if (!key) {
    switch (method) {
      case 'PUT':
        return 'CreateBucket';
      case 'DELETE':
        return 'DeleteBucket';
      case 'HEAD':
        return 'HeadBucket';
      case 'POST':
        return has('delete') ? 'DeleteObjects' : method;
      case 'GET':
        return has('uploads') ? 'ListMultipartUploads' : q['list-type'] === '2' ? 'ListObjectsV2' : 'ListObjects';
    }
    return method;
  }
  switch (method) {
    case 'PUT':
      if (has('partNumber') && has('uploadId')) return 'UploadPart';
      return h['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
    case 'POST':
      if (has('uploads')) return 'CreateMultipartUpload';
      if (has('uploadId')) return 'CompleteMultipartUpload';
      return has('restore') ? 'RestoreObject' : method;
    case 'DELETE':
      return has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    case 'GET':
      return has('uploadId') ? 'ListParts' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
  }
  return method;
}

function matches(m: RequestMatcher, r: ProxiedRequest): boolean {
  if (typeof m === 'function') return m(r);
  if (m.op !== undefined && !(typeof m.op === 'string' ? [m.op] : m.op).includes(r.op)) return false;
  if (m.method !== undefined && m.method !== r.method) return false;
  if (m.key !== undefined) {
    if (r.key === undefined) return false;
    if (typeof m.key === 'string' ? m.key !== r.key : !m.key.test(r.key)) return false;
  }
  return true;
}

const isOk = (status: number | undefined) => status !== undefined && status >= 200 && status < 300;

function validateRule(rule: FaultRule): void {
  if (!rule.kinds.length) throw new Error('fault rule needs at least one kind');
  if (rule.rate !== undefined && !(rule.rate >= 0 && rule.rate <= 1)) throw new Error(`fault rate ${rule.rate} is not in 0..1`);
  if (rule.stallMs !== undefined && !(rule.stallMs >= 0 && rule.stallMs <= MAX_STALL_MS)) {
    throw new Error(`stallMs ${rule.stallMs} is not in 0..${MAX_STALL_MS}`);
  }
  if (rule.nth?.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('nth positions are 1-based integers');
}

// ---------------------------------------------------------------------------------------------
// Forwarding

// Hop-by-hop headers belong to each connection, not the request. Expect is handled by our own
// server (it answers 100 Continue itself), and SigV4 never signs it.
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'expect']);

function forward(req: http.IncomingMessage, up: URL, agent: http.Agent): Promise<{ status: number; headers: string[]; body: Buffer }> {
  const headers: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (!NOT_FORWARDED.has(req.rawHeaders[i]!.toLowerCase())) headers.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  }
  return new Promise((resolve, reject) => {
    const out = http.request(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers, agent, setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const h: string[] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            if (!NOT_FORWARDED.has(res.rawHeaders[i]!.toLowerCase())) h.push(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
          }
          resolve({ status: res.statusCode ?? 502, headers: h, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('upstream response aborted')));
      },
    );
    out.on('error', reject);
    // A client that goes away mid-body must not leave a half request at the store.
    req.on('aborted', () => out.destroy(new Error('client aborted')));
    req.on('error', (e) => out.destroy(e));
    req.pipe(out);
  });
}

function sendError(res: http.ServerResponse, entry: Entry, status: number, code: string, message: string): void {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
    `<Resource>${entry.path}</Resource><RequestId>fault-proxy-${entry.seq}</RequestId></Error>`;
  entry.status = status;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': `fault-proxy-${entry.seq}` });
  res.end(body);
}

function drain(req: http.IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    req.once('end', resolve);
    req.once('error', () => resolve());
    req.resume();
  });
}

/** Reads up to `n` body bytes (at least one chunk if any), then stops reading. */
function readSome(req: http.IncomingMessage, n: number): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    const done = () => {
      req.removeListener('data', onData);
      req.pause();
      resolve();
    };
    const onData = (c: Buffer) => {
      got += c.length;
      if (got >= n) done();
    };
    req.on('data', onData);
    req.once('end', done);
    req.once('error', done);
  });
}

// ---------------------------------------------------------------------------------------------
// Gates

interface GateState extends Gate {
  readonly match: RequestMatcher;
  readonly at: 'before-upstream' | 'after-upstream';
  readonly heldList: Entry[];
  released: boolean;
  readonly releasedPromise: Promise<void>;
  notify(): void;
}

function newGate(match: RequestMatcher, at: GateState['at'], onRelease: () => void): GateState {
  let open!: () => void;
  const releasedPromise = new Promise<void>((r) => (open = r));
  const waiters: Array<{ n: number; resolve: (r: ProxiedRequest[]) => void }> = [];
  const g: GateState = {
    match,
    at,
    heldList: [],
    released: false,
    releasedPromise,
    notify() {
      for (const w of [...waiters]) {
        if (g.heldList.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(g.held());
        }
      }
    },
    waitHeld(n = 1) {
      return new Promise((resolve) => {
        waiters.push({ n, resolve });
        g.notify();
      });
    },
    held: () => g.heldList.map((e) => ({ ...e })),
    release() {
      if (g.released) return;
      g.released = true;
      onRelease();
      open();
    },
  };
  return g;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** A small seeded PRNG (mulberry32): reproducible fault sequences without dependencies. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
