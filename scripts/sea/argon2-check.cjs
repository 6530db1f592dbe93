// Entry for a test build (scripts/build-binary.mjs --entry): proves the embedded argon2 addon
// loads inside a single executable. Prints argon2id(argv[2], salt 16 × 0x01) as hex.
'use strict';
const argon2 = require('argon2');

argon2
  .hash(process.argv[2] ?? '', { type: argon2.argon2id, raw: true, hashLength: 32, salt: Buffer.alloc(16, 1), memoryCost: 1024, timeCost: 1, parallelism: 1 })
  .then((h) => process.stdout.write(h.toString('hex') + '\n'));
