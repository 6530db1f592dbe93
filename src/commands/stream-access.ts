import { openManifest, type Protection, type StreamCodec } from '../crypto/stream-codec.js';
import { ExitCode, S3ductError, notFoundError } from '../errors.js';
import { StreamLayout, validateStreamName } from '../format/layout.js';
import type { Manifest } from '../format/manifest.js';
import { storeWhere, type Store } from '../store/store.js';

export interface OpenStream {
  readonly layout: StreamLayout;
  readonly manifest: Manifest;
  readonly codec: StreamCodec;
}

/** Finds a stream by name and reads its manifest under the user's key. */
export async function openStream(store: Store, prefix: string, name: string, protection: Protection): Promise<OpenStream> {
  const layout = new StreamLayout(prefix, validateStreamName(name));
  const { manifest, codec } = await openManifest(await readManifest(store, layout, `"${name}"`), protection, `stream "${name}" manifest`);
  if (manifest.name !== name) {
    // Listed from a parent prefix, a stream put with --prefix shows as prefix/name: the
    // likely mistake, not tampering, and the way to read it is known.
    const under = name.endsWith(`/${manifest.name}`) ? name.slice(0, -manifest.name.length - 1) : undefined;
    const hint = under ? `; if it was stored with --prefix ${prefix}${under}, read it with that --prefix and --name ${manifest.name}` : '';
    throw new S3ductError(`stream "${name}": manifest is for "${manifest.name}" (moved or replaced${hint})`, ExitCode.integrity);
  }
  return { layout, manifest, codec };
}

/** The manifest's stored bytes; a missing manifest says whether a put of it never finished. */
export async function readManifest(store: Store, layout: StreamLayout, label: string): Promise<Buffer> {
  try {
    return await store.get(layout.manifest);
  } catch (e) {
    // A missing bucket is said as such (every stream in it is missing too).
    if (e instanceof S3ductError && e.exitCode === ExitCode.notFound && !/bucket does not exist/.test(e.message)) {
      const started = await store.head(layout.chunk(0));
      throw notFoundError(
        started
          ? `stream ${label} at ${storeWhere(store, layout.prefix)}: its put never finished (chunks exist, no manifest); run the same put again to resume`
          : `no stream ${label} at ${storeWhere(store, layout.prefix)}`,
      );
    }
    if (e instanceof S3ductError && e.exitCode === ExitCode.notReady) throw new S3ductError(`${e.message}; s3duct restore ${label} requests it first`, ExitCode.notReady);
    throw e;
  }
}
