#!/bin/bash
# One-node OpenStack Swift with the s3api middleware on 127.0.0.1:PORT, for tests.
# S3 access key "test:tester", secret "testing", region us-east-1; only the STANDARD
# storage class. Needs Debian packages: swift swift-proxy swift-account swift-container
# swift-object python3-swift memcached.
# Ports: PORT proxy, PORT+1 memcached, PORT+2..PORT+4 account/container/object servers,
# so instances with different PORTs and SWIFT_ROOTs can run side by side.
# Usage: [SWIFT_ROOT=dir] start.sh [PORT]; stop with stop.sh (same PORT / SWIFT_ROOT).
set -euo pipefail
PORT=${1:-8089}
ROOT=${SWIFT_ROOT:-/tmp/swift-s3-$PORT}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ME=$(id -un)

# Refuse to wipe a directory we did not make (SWIFT_ROOT may come from anywhere).
mkdir -p "$ROOT"
if [ -n "$(ls -A "$ROOT")" ] && [ ! -e "$ROOT/.swift-s3" ]; then
  echo "start.sh: $ROOT is not empty and was not made by start.sh; refusing to use it" >&2; exit 2
fi
[ -e "$ROOT/run" ] && SWIFT_ROOT=$ROOT "$HERE/stop.sh" "$PORT" >/dev/null
rm -rf "$ROOT"/{etc,srv,run,log}
mkdir -p "$ROOT"/{etc,srv/sdb1,run,log}
touch "$ROOT/.swift-s3"
cd "$ROOT/etc"

cat > swift.conf <<C
[swift-hash]
swift_hash_path_prefix = pre
swift_hash_path_suffix = suf
[storage-policy:0]
name = gold
default = yes
C

# bind_timeout: on a port clash fail within seconds (default 30) so the caller can retry elsewhere.
for t in account:$((PORT+2)) container:$((PORT+3)) object:$((PORT+4)); do
  n=${t%%:*}; p=${t##*:}
  # Each swift-ring-builder call is a ~0.5 s Python start-up: build the three rings in parallel.
  ( swift-ring-builder $n.builder create 10 1 1 >/dev/null
    swift-ring-builder $n.builder add r1z1-127.0.0.1:$p/sdb1 1 >/dev/null
    swift-ring-builder $n.builder rebalance >/dev/null || true ) &
  cat > $n-server.conf <<C
[DEFAULT]
devices = $ROOT/srv
mount_check = false
bind_ip = 127.0.0.1
bind_port = $p
bind_timeout = 3
workers = 1
user = $ME
swift_dir = $ROOT/etc
log_name = $n
log_facility = LOG_LOCAL2
[pipeline:main]
pipeline = $n-server
[app:$n-server]
use = egg:swift#$n
C
  [ $n = container ] && printf '[container-sync]\n' >> $n-server.conf
  [ $n = object ] && printf '[object-replicator]\n' >> $n-server.conf
done
wait

cat > proxy-server.conf <<C
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PORT
bind_timeout = 3
workers = 2
user = $ME
swift_dir = $ROOT/etc
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth slo dlo copy versioned_writes proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
s3_acl = false
max_upload_part_num = 10000
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$((PORT+1))
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:copy]
use = egg:swift#copy
[filter:versioned_writes]
use = egg:swift#versioned_writes
C

# setsid: each server leads its own process group, so stop.sh can signal it with its workers.
setsid memcached -u "$ME" -l 127.0.0.1 -p $((PORT+1)) -m 64 > "$ROOT/log/memcached.log" 2>&1 < /dev/null &
echo $! > "$ROOT/run/memcached.pid"
for n in account container object; do
  setsid swift-$n-server "$ROOT/etc/$n-server.conf" -v > "$ROOT/log/$n.log" 2>&1 < /dev/null &
  echo $! > "$ROOT/run/$n.pid"
done
setsid swift-proxy-server "$ROOT/etc/proxy-server.conf" -v > "$ROOT/log/proxy.log" 2>&1 < /dev/null &
echo $! > "$ROOT/run/proxy.pid"

fail() {
  echo "swift did not start: $*" >&2
  for f in "$ROOT"/log/*.log; do echo "== $f" >&2; tail -n 15 "$f" >&2; done
  SWIFT_ROOT=$ROOT "$HERE/stop.sh" "$PORT" >/dev/null
  exit 1
}
# Bash's /dev/tcp instead of curl: one dependency fewer on a bare machine.
healthy() (
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
  printf 'GET /healthcheck HTTP/1.0\r\n\r\n' >&3
  read -r -t 2 line <&3 && [[ $line == HTTP/1.?\ 200* ]]
) 2>/dev/null
# "Started child" is logged after a server has bound its port, so it proves that what answers
# on PORT is ours and not someone else's server that got there first.
for _ in $(seq 1 150); do
  for n in memcached account container object proxy; do
    kill -0 "$(cat "$ROOT/run/$n.pid")" 2>/dev/null || fail "$n exited"
  done
  up=1
  for n in account container object proxy; do grep -q "Started child" "$ROOT/log/$n.log" || up=0; done
  [ $up = 1 ] && healthy && { echo "swift s3 up on $PORT"; exit 0; }
  sleep 0.2
done
fail "timed out"
