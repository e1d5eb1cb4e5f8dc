#!/usr/bin/env bash
# scripts/instructions_per_command.sh: instructions per committed command,
# ours beside canonical raft, from callgrind.
#
#   cmake --preset release && cmake --build --preset release --target bench_end_to_end
#   bash scripts/instructions_per_command.sh [path/to/bench_end_to_end]
#
# Instruction counts do not care how busy the machine is; wall time does.
# Each workload of bench_end_to_end's counting mode (--count=<workload>,<n>)
# runs twice under callgrind, with n1 and n2 commands, collecting only inside
# paxos_bench_round (the proposing and settling of a round: every replica's
# work and the driver's message queue). Instructions per command is the
# difference of the two totals over n2 - n1, so set-up, election and
# tear-down cancel out.
#
# For raft the same profile is split with callgrind_annotate (inclusive
# cost): "core" is what raft's entry points cost -- our client code that
# mallocs the payloads and calls raft_apply (raft_bench_submit, or
# raft_bench_submit_packed for raft_fifo_packed), recvCb, and
# raft's I/O completion callbacks -- minus the I/O stubs they call (the
# fixture's ioMethod* and our wrappers around them, or raft_fifo's io_*). It
# includes malloc/free called from raft and the FSM apply. The rest is the
# driver: for raft_fixture, the fixture (see bench/peers/libraft.hpp); for
# raft_fifo and raft_fifo_packed, its FIFO and one copy of each message.
# The split reads callgrind_annotate's "???:function" entries, so it needs a
# binary without debug info (the release preset's): with -g, a function is
# listed once per source file its inlined code came from, and the "raft core"
# column comes out wrong. The Ir/command column is right either way.
#
# raft_fifo_packed (batched only) packs a batch's 64 commands into one raft
# entry, as paxos packs them into one slot: its ratio to paxos_multi batched
# is the like-for-like one. raft_fifo batched makes 64 entries of one command
# each, so its ratio measures raft's per-entry overhead as well.
#
# Environment: WORKLOADS (space-separated workload names) replaces the default
# list; N1/N2 and FIXTURE_N1/FIXTURE_N2 the command counts (raft_fixture
# rebuilds its cluster every 128 commands, so its counts are whole lives).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bench="${1:-build/release/bench/bench_end_to_end}"
if [[ ! -x "${bench}" ]]; then
    echo "no ${bench}; build it first:" >&2
    echo "  cmake --preset release && cmake --build --preset release --target bench_end_to_end" >&2
    exit 1
fi
for tool in valgrind callgrind_annotate; do
    if ! command -v "${tool}" >/dev/null; then
        echo "needs ${tool} (Debian/Ubuntu: apt-get install valgrind)" >&2
        exit 1
    fi
done

n1="${N1:-2048}"
n2="${N2:-4096}"
fixture_n1="${FIXTURE_N1:-256}"
fixture_n2="${FIXTURE_N2:-512}"

# Every row the README quotes: 3 and 5 nodes at 8 B, and 3 nodes at 128 B
# without the slow fixture.
default_workloads=()
for nodes in 3 5; do
    for impl in paxos_multi paxos_flexible paxos_basic raft_fifo raft_fifo_packed raft_fixture; do
        for mode in one_in_flight pipelined batched; do
            [[ "${impl}" == paxos_basic && "${mode}" == pipelined ]] && continue
            [[ "${impl}" == raft_fifo_packed && "${mode}" != batched ]] && continue
            default_workloads+=("${impl}/${nodes}_nodes/${mode}/8B")
        done
    done
done
for impl in paxos_multi raft_fifo raft_fifo_packed; do
    for mode in one_in_flight batched; do
        [[ "${impl}" == raft_fifo_packed && "${mode}" != batched ]] && continue
        default_workloads+=("${impl}/3_nodes/${mode}/128B")
    done
done
read -r -a workloads <<<"${WORKLOADS:-${default_workloads[*]}}"

out="$(mktemp -d)"
trap 'rm -rf "${out}"' EXIT

# Raft's entry points, and the I/O stubs that they call (subtracted).
core_pattern='^(raft_bench_submit(_packed)?|recvCb|tickCb|sendAppendEntriesCb|appendLeaderCb'
core_pattern+='|sendAppendEntriesResultCb|appendFollowerCb|recvSendAppendEntriesResultCb'
core_pattern+='|requestVoteSendCb|sendRequestVoteCb)([.].*)?$'
io_pattern='^(ioMethod[A-Za-z]+|peers::libraft::fixture_box::counted_[a-z]+\(.*'
io_pattern+='|peers::libraft::fifo_cluster<[^>]*>::io_[a-z_]+\(.*)$'

# total core: the program's collected instructions, and raft's core share.
profile() {
    local workload="$1" commands="$2" file="$3"
    valgrind --tool=callgrind --callgrind-out-file="${file}" --collect-atstart=no \
        --toggle-collect=paxos_bench_round "${bench}" --count="${workload},${commands}" \
        >"${file}.stdout" 2>"${file}.stderr" || {
        echo "failed: ${workload} ${commands}" >&2
        cat "${file}.stdout" "${file}.stderr" >&2
        exit 1
    }
    callgrind_annotate --inclusive=yes --threshold=100 "${file}" 2>/dev/null |
        awk -v core="${core_pattern}" -v io="${io_pattern}" '
            /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
            /\?\?\?:/ {
                n = $1; gsub(",", "", n)
                name = $0; sub(/^[^:]*:/, "", name); sub(/ \[[^]]*\]$/, "", name)
                if (name ~ core) c += n
                else if (name ~ io) c -= n
            }
            END { printf "%d %d\n", total, c }'
}

# Ratios are to paxos_multi with the same nodes, mode and bytes, when that
# workload ran earlier in the list.
declare -A ours=()
printf '| %-38s | %10s | %10s | %7s | %18s | %11s | %13s |\n' workload "Ir/command" \
    "raft core" "driver" "x paxos_multi" "msgs/commit" "allocs/commit"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..40})" \
    "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..12})" \
    "$(printf -- '-%.0s' {1..9})" "$(printf -- '-%.0s' {1..20})" \
    "$(printf -- '-%.0s' {1..13})" "$(printf -- '-%.0s' {1..15})"
for workload in "${workloads[@]}"; do
    a="${n1}" b="${n2}"
    if [[ "${workload}" == raft_fixture/* ]]; then a="${fixture_n1}" b="${fixture_n2}"; fi
    file="${out}/$(tr '/' '_' <<<"${workload}")"
    read -r total_a core_a < <(profile "${workload}" "${a}" "${file}.a")
    read -r total_b core_b < <(profile "${workload}" "${b}" "${file}.b")
    stats="$(grep -o 'msgs/commit *[0-9.]* *allocs/commit *[0-9.]*' "${file}.b.stdout")"
    msgs="$(awk '{print $2}' <<<"${stats}")"
    allocs="$(awk '{print $4}' <<<"${stats}")"
    key="${workload#*/}"
    row="$(awk -v w="${workload}" -v ta="${total_a}" -v tb="${total_b}" -v ca="${core_a}" \
        -v cb="${core_b}" -v na="${a}" -v nb="${b}" -v m="${msgs}" -v al="${allocs}" \
        -v base="${ours[${key}]:-}" '
        BEGIN {
            whole = (tb - ta) / (nb - na)
            if (w !~ /^raft_/) {
                printf "%.0f| %-38s | %10.0f | %10s | %7s | %18s | %11s | %13s |\n",
                       whole, w, whole, "-", "-", "-", m, al
                exit
            }
            core = (cb - ca) / (nb - na)
            ratio = base == "" ? "-" : sprintf("%.1f (core %.1f)", whole / base, core / base)
            printf "%.0f| %-38s | %10.0f | %10.0f | %6.1f%% | %18s | %11s | %13s |\n",
                   whole, w, whole, core, 100 * (whole - core) / whole, ratio, m, al
        }')"
    if [[ "${workload}" == paxos_multi/* ]]; then ours["${key}"]="${row%%|*}"; fi
    echo "|${row#*|}"
done
