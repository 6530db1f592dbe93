#!/usr/bin/env node
// Builds s3duct as one executable file (Node single executable application):
//   1. esbuild bundles src/ (TypeScript, ESM, lazy imports and all) into one CommonJS file;
//      `node-gyp-build` lookups of the native addons listed in ADDONS are replaced by loading
//      the addon from a SEA asset (scripts/sea/node-gyp-build-sea.cjs).
//   2. node --experimental-sea-config turns the bundle and the addons into a blob.
//   3. A copy of this node binary (stripped, if `strip` exists) gets the blob injected with postject.
// Usage: node scripts/build-binary.mjs [--out FILE] [--no-strip] [--entry FILE]
//   --out defaults to build/s3duct; --entry bundles another program instead of the CLI (the
//   tests use it to check that an embedded addon loads).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(ROOT, 'package.json'));
const esbuild = require('esbuild');
const { inject } = require('postject');

/** Packages whose native addon is embedded, by the directory node-gyp-build is given. */
const ADDONS = ['argon2'];
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = path.resolve(outIndex >= 0 ? args[outIndex + 1] : path.join(ROOT, 'build', 's3duct'));
const strip = !args.includes('--no-strip');
const entryIndex = args.indexOf('--entry');
const entry = entryIndex >= 0 ? path.resolve(args[entryIndex + 1]) : undefined;

const started = Date.now();
const work = mkdtempSync(path.join(tmpdir(), 's3duct-sea-'));
try {
  const bundle = path.join(work, 's3duct.cjs');
  const addonAssets = {};
  const embedAddons = {
    name: 'embed-native-addons',
    setup(build) {
      build.onResolve({ filter: /^node-gyp-build$/ }, (a) => {
        const pkg = ADDONS.find((p) => a.importer.includes(`${path.sep}node_modules${path.sep}${p}${path.sep}`));
        if (!pkg) throw new Error(`node-gyp-build imported by ${a.importer}: add its package to ADDONS in scripts/build-binary.mjs`);
        return { path: pkg, namespace: 'sea-addon' };
      });
      build.onLoad({ filter: /.*/, namespace: 'sea-addon' }, (a) => {
        const pkgDir = path.dirname(require.resolve(`${a.path}/package.json`));
        // The file node-gyp-build itself would load on this machine (platform, libc, arch).
        addonAssets[`${a.path}.node`] = require('node-gyp-build').resolve(pkgDir);
        const shim = JSON.stringify(path.join(ROOT, 'scripts', 'sea', 'node-gyp-build-sea.cjs'));
        const asset = JSON.stringify(`${a.path}.node`);
        return { contents: `const { loadAddon } = require(${shim});\nmodule.exports = () => loadAddon(${asset});\n`, loader: 'js', resolveDir: ROOT };
      });
    },
  };
  const bundleOptions = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', plugins: [embedAddons], logLevel: 'warning', legalComments: 'none' };
  await esbuild.build({
    ...(entry
      ? { entryPoints: [entry] }
      : {
          stdin: {
            contents: "import { runMain } from './src/cli/main.ts';\nrunMain(process.argv);\n",
            resolveDir: ROOT,
            sourcefile: 'sea-entry.ts',
            loader: 'ts',
          },
        }),
    ...bundleOptions,
    outfile: bundle,
  });

  // The crypto worker thread's code (src/pipeline/embedded-worker.ts starts it from this asset).
  const workerBundle = path.join(work, 'crypto-worker.cjs');
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'src', 'pipeline', 'crypto-worker.ts')],
    ...bundleOptions,
    outfile: workerBundle,
  });
  if (!entry) addonAssets['crypto-worker.cjs'] = workerBundle;

  const blob = path.join(work, 'sea-prep.blob');
  const config = path.join(work, 'sea-config.json');
  // useCodeCache: V8's compiled code travels in the blob; --help started ~20-30% faster here with it.
  writeFileSync(config, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, assets: addonAssets }));
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'pipe'] });

  mkdirSync(path.dirname(out), { recursive: true });
  const tmpOut = `${out}.tmp-${process.pid}`;
  copyFileSync(process.execPath, tmpOut);
  chmodSync(tmpOut, 0o755);
  if (strip) {
    try {
      execFileSync('strip', [tmpOut], { stdio: 'ignore' });
    } catch {
      /* no strip on this machine: a larger binary, same behaviour */
    }
  }
  await quietly(() => inject(tmpOut, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: FUSE }));
  copyFileSync(tmpOut, out); // a half-built binary never sits under the final name
  rmSync(tmpOut, { force: true });
  chmodSync(out, 0o755);
  const mb = (statSync(out).size / 1024 ** 2).toFixed(1);
  process.stderr.write(`built ${out}: ${mb} MiB in ${((Date.now() - started) / 1000).toFixed(1)} s (assets: ${Object.keys(addonAssets).join(', ') || 'none'})\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** postject's ELF library warns about every note section of a stripped binary ("Can't find
 *  string offset"): harmless noise. Its messages are shown only if injection fails. */
async function quietly(fn) {
  const said = [];
  const saved = [console.log, console.warn, console.error];
  console.log = console.warn = console.error = (...a) => said.push(a.join(' '));
  try {
    return await fn();
  } catch (e) {
    process.stderr.write(said.join('\n') + '\n');
    throw e;
  } finally {
    [console.log, console.warn, console.error] = saved;
  }
}
