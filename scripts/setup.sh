#!/bin/bash
# Prepares a fresh Debian machine to build and test s3duct; safe to re-run (skips what is there).
# Installs: Debian's age CLI (interop tests), OpenStack Swift + memcached (S3 test server),
# zsh, fish and groff (the completion and man page tests check their output),
# checks moto_server (the other S3 test server), then npm ci.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '[setup] %s\n' "$*"; }
SUDO=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { say "not root and no sudo: run as root"; exit 1; }
  SUDO=(sudo)
fi

APT_PACKAGES=(age swift swift-proxy swift-account swift-container swift-object python3-swift memcached zsh fish groff-base)
COMMANDS=(age swift-proxy-server swift-account-server swift-container-server swift-object-server swift-ring-builder memcached zsh fish groff)
missing=()
for c in "${COMMANDS[@]}"; do command -v "$c" >/dev/null || missing+=("$c"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "missing ${missing[*]}: installing ${APT_PACKAGES[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${APT_PACKAGES[@]}"
else
  say "Debian packages already present (age, swift, memcached, zsh, fish)"
fi

# PyPI is not reachable from this project's machines, so moto cannot be installed from here:
# it comes preinstalled under pyenv. Fail loudly rather than let the moto tests fail later.
if command -v moto_server >/dev/null || [ -x "$HOME/.pyenv/shims/moto_server" ]; then
  say "moto_server: found"
else
  say "moto_server not found on PATH. Install it with: pip install 'moto[server]==5.2.1'"
  say "(on this project's machines it is preinstalled with pyenv: put ~/.pyenv/shims on PATH)"
  exit 1
fi

say "npm ci"
npm ci --no-audit --no-fund
say "npm run build"
npm run build
say "done"
