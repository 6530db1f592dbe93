// A loopback HTTP proxy in front of an S3 server that reports restore states the server cannot
// show (moto completes restores at once and never reports RestoreStatus in listings): it
// rewrites x-amz-restore on HEAD responses and injects <RestoreStatus> into ListObjectsV2
// responses that asked for it, so the client's parsing and polling run over real HTTP.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { S3Server } from './servers.js';

/** What the proxy reports for one key; undefined leaves the server's answer untouched. */
export type Reported = { readonly restore: 'ongoing' } | { readonly restore: 'restored'; readonly expiry: Date } | { readonly restore: 'none' };

export interface ProxiedRequest {
  readonly method: string;
  /** Object key (path-style: after the bucket), "" for bucket-level requests. */
  readonly key: string;
  readonly query: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
}

export interface RestoreProxy {
  /** Point the CLI here instead of at the server (same credentials). */
  readonly endpoint: string;
  readonly requests: ProxiedRequest[];
  /** Keys a RestoreObject request was sent for. */
  readonly restoreRequested: Set<string>;
  /** Decides what HEAD and listings report for a key. */
  report: (key: string, via: 'head' | 'list') => Reported | undefined;
  /** Answers a RestoreObject itself with this S3 error code (e.g. RestoreAlreadyInProgress). */
  refuseRestore: (key: string) => { readonly status: number; readonly code: string } | undefined;
  stop(): Promise<void>;
}

export async function startRestoreProxy(server: S3Server): Promise<RestoreProxy> {
  const upstream = new URL(server.endpoint);
  const proxy: RestoreProxy = {
    endpoint: '',
    requests: [],
    restoreRequested: new Set(),
    report: () => undefined,
    refuseRestore: () => undefined,
    stop: async () => {},
  };
  const httpServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const [, , ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const seen: ProxiedRequest = { method: req.method ?? 'GET', key, query: url.searchParams, headers: req.headers };
    proxy.requests.push(seen);
    if (req.method === 'POST' && url.searchParams.has('restore')) {
      proxy.restoreRequested.add(key);
      const refusal = proxy.refuseRestore(key);
      if (refusal) {
        req.resume();
        const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${refusal.code}</Code><Message>refused by test proxy</Message></Error>`;
        res.writeHead(refusal.status, { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
        return;
      }
    }
    const isList = req.method === 'GET' && key === '' && url.searchParams.get('list-type') === '2';
    const wantsStatus = /RestoreStatus/i.test(String(req.headers['x-amz-optional-object-attributes'] ?? ''));
    const up = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (ur) => {
        const headers = { ...ur.headers };
        if (req.method === 'HEAD' && key) {
          const r = proxy.report(key, 'head');
          if (r) {
            delete headers['x-amz-restore'];
            if (r.restore === 'ongoing') headers['x-amz-restore'] = 'ongoing-request="true"';
            if (r.restore === 'restored') headers['x-amz-restore'] = `ongoing-request="false", expiry-date="${r.expiry.toUTCString()}"`;
          }
        }
        if (!(isList && wantsStatus)) {
          res.writeHead(ur.statusCode ?? 502, headers);
          ur.pipe(res);
          return;
        }
        const parts: Buffer[] = [];
        ur.on('data', (c: Buffer) => parts.push(c));
        ur.on('end', () => {
          const xml = Buffer.concat(parts)
            .toString('utf8')
            .replace(/<Contents>([\s\S]*?)<\/Contents>/g, (whole, inner: string) => {
              const k = /<Key>([^<]*)<\/Key>/.exec(inner)?.[1];
              const r = k === undefined ? undefined : proxy.report(unescapeXml(k), 'list');
              if (!r || r.restore === 'none') return whole;
              const status =
                r.restore === 'ongoing'
                  ? '<RestoreStatus><IsRestoreInProgress>true</IsRestoreInProgress></RestoreStatus>'
                  : `<RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress><RestoreExpiryDate>${r.expiry.toISOString()}</RestoreExpiryDate></RestoreStatus>`;
              return `<Contents>${inner}${status}</Contents>`;
            });
          const body = Buffer.from(xml, 'utf8');
          headers['content-length'] = String(body.length);
          delete headers['transfer-encoding'];
          res.writeHead(ur.statusCode ?? 502, headers);
          res.end(body);
        });
      },
    );
    up.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const port = (httpServer.address() as AddressInfo).port;
  return Object.assign(proxy, {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        httpServer.closeAllConnections();
        httpServer.close(() => resolve());
      }),
  });
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
