#!/usr/bin/env bash
# examples/counter_demo.sh: the replicated counter of counter.cpp, three
# processes on 127.0.0.1, with a kill -9 of the leader and a restart.
#
#   bash examples/counter_demo.sh build/release/examples/counter [BASE_PORT]
#
# Uses ports BASE_PORT..BASE_PORT+2 (peers) and BASE_PORT+100.. (clients),
# default 7000, and a new directory under /tmp for the logs. Every node it
# starts is stopped by its PID on exit.
set -euo pipefail
counter=${1:?usage: counter_demo.sh PATH/TO/counter [BASE_PORT]}
base=${2:-7000}
dir=$(mktemp -d /tmp/counter-demo-XXXXXX)
declare -a pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

for i in 0 1 2; do
    echo "$i 127.0.0.1:$((base + i))" >> "$dir/peers.conf"
    echo "$i 127.0.0.1:$((base + 100 + i))" >> "$dir/clients.conf"
done
start() {
    "$counter" node --id "$1" --peers "$dir/peers.conf" --clients "$dir/clients.conf" \
        --dir "$dir/node$1" >> "$dir/node$1.log" 2>&1 &
    pids[$1]=$!
}
add() {  # adds $1; sets $value and $leader (the node that answered)
    value=$("$counter" add "$1" "$dir/clients.conf" 2> "$dir/answer.txt")
    leader=$(sed -n 's/answered by node \([0-9]*\).*/\1/p' "$dir/answer.txt")
    echo "add $1 -> $value (answered by node $leader)"
}

for i in 0 1 2; do start "$i"; done
sleep 0.5
add 5
add 1
echo "kill -9 node $leader, the leader"
kill -9 "${pids[$leader]}"
wait "${pids[$leader]}" 2>/dev/null || true
killed=$leader
add 1  # the other two elect a new leader; the client follows
add 1
echo "restart node $killed"
start "$killed"
sleep 0.3
add 1
[ "$value" = 9 ] || { echo "expected 9, got $value" >&2; exit 1; }
echo "every acknowledged add is there, once. Logs: $dir"
