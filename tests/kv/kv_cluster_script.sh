#!/usr/bin/env bash
# tests/kv/kv_cluster_script.sh PAXOS_KV NODES: scripts/kv-cluster start, status
# (one line per replica with its client address and role, one leader), a SET
# through the leader, restart of a killed replica, stop (every recorded PID
# gone). Bounded: the script's own waits are bounded, and ctest's TIMEOUT.
set -euo pipefail
export PAXOS_KV=$1
nodes=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/kv-cluster-test.XXXXXX)
trap '"$root/scripts/kv-cluster" stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
"$root/scripts/kv-cluster" start "$dir" --nodes "$nodes" > /dev/null
status=$("$root/scripts/kv-cluster" status "$dir")
echo "$status"
[ "$(grep -c '127.0.0.1:' <<< "$status")" -eq "$nodes" ]
[ "$(grep -c ' leader (' <<< "$status")" -eq 1 ]
port=$(grep ' leader (' <<< "$status" | grep -o '127.0.0.1:[0-9]*' | cut -d: -f2)
if command -v redis-cli > /dev/null; then
    [ "$(timeout 10 redis-cli -p "$port" SET script ok)" = OK ]
    [ "$(timeout 10 redis-cli -p "$port" GET script)" = ok ]
fi
kill -9 "$(cat "$dir/0.pid")"
"$root/scripts/kv-cluster" start "$dir" > /dev/null  # restarts node 0 only
again=$("$root/scripts/kv-cluster" status "$dir")
grep -q '^node 0 .* pid ' <<< "$again"
pids=$(cat "$dir"/*.pid)
"$root/scripts/kv-cluster" stop "$dir"
for p in $pids; do ! kill -0 "$p" 2>/dev/null; done
echo "kv-cluster: start, status, restart and stop of $nodes replicas: ok"
