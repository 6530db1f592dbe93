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
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3duct-addon-'));
  try {
    const file = path.join(dir, asset);
    fs.writeFileSync(file, new Uint8Array(sea.getRawAsset(asset)), { mode: 0o700 });
    const mod = { exports: {} };
    process.dlopen(mod, file);
    loaded.set(asset, mod.exports);
    return mod.exports;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { loadAddon };
