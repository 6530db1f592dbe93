import { ExitCode, S3ductError } from '../errors.js';

/**
 * Classifies an SDK error once, into the exit-code table, with a one-line message naming
 * what failed. Transient failures have already been retried by the SDK when they get here.
 */
export function classifyS3Error(e: any, what: string): S3ductError {
  if (e instanceof S3ductError) return e;
  const name: string = e?.name ?? e?.Code ?? 'Error';
  const status: number | undefined = e?.$metadata?.httpStatusCode;
  const detail = e?.message && e.message !== name && e.message !== 'UnknownError' ? `${name}: ${e.message}` : name;
  switch (name) {
    case 'NoSuchKey':
    case 'NotFound':
      return new S3ductError(`${what}: not found`, ExitCode.notFound);
    case 'NoSuchBucket':
      return new S3ductError(`${what}: bucket does not exist`, ExitCode.notFound);
    case 'InvalidObjectState':
      return new S3ductError(`${what}: archived (restore it before reading)`, ExitCode.notReady);
    case 'AccessDenied':
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
    case 'Forbidden':
      return new S3ductError(`${what}: access denied (${name}); check credentials and permissions`, ExitCode.auth);
    case 'InvalidStorageClass':
      return new S3ductError(`${what}: the store does not accept this storage class`, ExitCode.usage);
    case 'NotImplemented':
      // Permanent: a rerun would meet it again (Swift's s3api has no object tagging).
      return new S3ductError(`${what}: this store does not support a feature the command asked for (${detail}); leave out the option that needs it (e.g. --tag)`, ExitCode.usage);
    case 'CredentialsProviderError':
      return new S3ductError(`no S3 credentials found (environment, ~/.aws, SSO or instance role): ${e.message}`, ExitCode.auth);
  }
  if (status === 404) return new S3ductError(`${what}: not found`, ExitCode.notFound);
  if (/Deserialization error|XML parse error/i.test(String(e?.message))) return new S3ductError(`${what}: the endpoint did not answer as an S3 store does${status ? ` (HTTP ${status})` : ''}; check --endpoint-url`, ExitCode.failure);
  if (status === 501) return classifyS3Error({ ...e, name: 'NotImplemented', message: e?.message }, what);
  if (status === 403) return new S3ductError(`${what}: access denied; check credentials and permissions`, ExitCode.auth);
  const code = e?.code as string | undefined;
  if (code && NETWORK[code]) return new S3ductError(`${what}: ${NETWORK[code]} (${code}), retries exhausted`, ExitCode.failure);
  if (name === 'TimeoutError' || name === 'RequestTimeout') return new S3ductError(`${what}: request timed out, retries exhausted`, ExitCode.failure);
  return new S3ductError(`${what}: ${detail}${status ? ` (HTTP ${status})` : ''}`, ExitCode.failure);
}

const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed while sending',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host lookup failed',
  EPROTO: 'TLS handshake failed (https:// to a plain http port? check --endpoint-url)',
};
