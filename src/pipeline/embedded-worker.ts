/** The crypto worker's code as one script, when running as the single executable. */
export interface EmbeddedWorker {
  readonly code: string;
}

/**
 * A single executable has no crypto-worker.js beside it: scripts/build-binary.mjs bundles the
 * worker into one CommonJS script and embeds it as the SEA asset "crypto-worker.cjs", which
 * is started with `eval: true`. Outside a single executable this returns undefined.
 */
export function embeddedWorkerSource(): EmbeddedWorker | undefined {
  const sea = (process as any).getBuiltinModule?.('node:sea') as { isSea(): boolean; getAsset(k: string, enc: string): string } | undefined;
  if (!sea?.isSea()) return undefined;
  return { code: sea.getAsset('crypto-worker.cjs', 'utf8') };
}
