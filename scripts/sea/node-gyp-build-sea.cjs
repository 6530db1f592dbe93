// Loads native addons inside the single executable: scripts/build-binary.mjs replaces each
// `node-gyp-build` call of a package it embeds with loadAddon("<package>.node"). A SEA has no
// node_modules to search: the addon (argon2) travels as a SEA asset and is loaded from a
// private temporary copy, removed straight after loading (the loaded library stays mapped).
// mkdtemp makes the directory mode 0700, so no other user can swap the file before dlopen.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const sea = require('node:sea');

const loaded = new Map();

function loadAddon(asset) {
  if (loaded.has(asset)) return loaded.get(asset);
  // A hardened /tmp is often mounted noexec, where dlopen fails: try the user's runtime and
  // cache directories next, and say what to do if none allows it.
  const places = [os.tmpdir(), process.env.XDG_RUNTIME_DIR, path.join(os.homedir(), '.cache')].filter(Boolean);
  const failures = [];
  for (const place of places) {
    let dir;
    try {
      fs.mkdirSync(place, { recursive: true, mode: 0o700 });
      dir = fs.mkdtempSync(path.join(place, 's3duct-addon-'));
      const file = path.join(dir, asset);
      fs.writeFileSync(file, new Uint8Array(sea.getRawAsset(asset)), { mode: 0o700 });
      const mod = { exports: {} };
      process.dlopen(mod, file);
      loaded.set(asset, mod.exports);
      return mod.exports;
    } catch (e) {
      failures.push(`${place}: ${e && e.code ? e.code : String(e && e.message).split('\n')[0]}`);
    } finally {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new Error(`cannot load the ${asset} add-on the executable carries (${failures.join('; ')}): set TMPDIR to a directory that allows running programs (not mounted noexec)`);
}

module.exports = { loadAddon };
