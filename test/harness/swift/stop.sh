#!/bin/bash
# Stop the Swift that start.sh started with the same PORT / SWIFT_ROOT: SIGTERM, up to
# 10 s grace, then SIGKILL. Leaves SWIFT_ROOT in place (the caller owns it).
set -uo pipefail
PORT=${1:-8089}
ROOT=${SWIFT_ROOT:-/tmp/swift-s3-$PORT}
groups=()
for f in "$ROOT"/run/*.pid; do
  [ -f "$f" ] && groups+=("$(cat "$f")")
done
[ ${#groups[@]} = 0 ] && { echo "nothing to stop"; exit 0; }

# start.sh ran every server under setsid, so each pid is also its process group id:
# signalling the group reaches the worker children too.
signal() { local g; for g in "${groups[@]}"; do kill "-$1" -- "-$g" 2>/dev/null; done; }
# Scans /proc rather than kill -0 because exited children stay zombies (still group members)
# until their new parent gets round to reaping them.
any_alive() {
  local f s st pg g
  for f in /proc/[0-9]*/stat; do
    read -r s 2>/dev/null < "$f" || continue
    s=${s##*) }; read -r st _ pg _ <<< "$s"
    [ "$st" = Z ] && continue
    for g in "${groups[@]}"; do [ "$pg" = "$g" ] && return 0; done
  done
  return 1
}

signal TERM
for _ in $(seq 1 50); do any_alive || break; sleep 0.2; done
any_alive && { echo "swift did not stop in 10 s: killing" >&2; signal KILL; }
rm -f "$ROOT"/run/*.pid
echo stopped
