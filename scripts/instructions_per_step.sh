#!/usr/bin/env bash
# scripts/instructions_per_step.sh: instructions per replica input (step,
# propose, tick, campaign, ready+advance), from callgrind, for every
# benchmark of bench_step.
#
#   cmake --preset release && cmake --build --preset release --target bench_step
#   bash scripts/instructions_per_step.sh [path/to/bench_step] [name regex]
#
# Instruction counts do not care how busy the machine is; wall time does.
# Each benchmark runs a fixed number of chunks (PAXOS_BENCH_STEP_ITERATIONS)
# under callgrind, collecting only inside paxos_step_chunk, which holds the
# timed inputs and nothing else (no set-up, no reset, no clock); the count is
# divided by chunks x inputs per chunk (the benchmark's `ops` counter).
# Caveat: callgrind counts each iteration of a `rep movs`/`rep stos` as one
# instruction; where a compiler copies a message that way, the count is high
# and the wall-clock figure of bench_step is the one to read.
#
# Environment: CHUNKS (default 2000) chunks per benchmark.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bench="${1:-build/release/bench/bench_step}"
filter="${2:-.}"
chunks="${CHUNKS:-2000}"

if [[ ! -x "${bench}" ]]; then
    echo "no ${bench}; build it first:" >&2
    echo "  cmake --preset release && cmake --build --preset release --target bench_step" >&2
    exit 1
fi
if ! command -v valgrind >/dev/null; then
    echo "needs valgrind (Debian/Ubuntu: apt-get install valgrind)" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

# Names without the /iterations:N/manual_time tail the fixed count adds.
mapfile -t names < <(PAXOS_BENCH_STEP_ITERATIONS=1 "${bench}" --benchmark_list_tests=true \
    --benchmark_filter="${filter}" | sed 's#/iterations:1/manual_time$##')
if [[ ${#names[@]} -eq 0 ]]; then
    echo "no benchmark matches '${filter}'" >&2
    exit 1
fi

printf '%-52s %14s\n' "benchmark" "instructions"
for name in "${names[@]}"; do
    PAXOS_BENCH_STEP_ITERATIONS="${chunks}" valgrind --tool=callgrind \
        --callgrind-out-file="${work}/callgrind.out" --collect-atstart=no \
        --toggle-collect='*paxos_step_chunk*' \
        "${bench}" --benchmark_filter="^${name}/" >"${work}/stdout" 2>"${work}/stderr" || {
        cat "${work}/stderr" >&2
        exit 1
    }
    ops="$(grep -o ' ops=[0-9]*' "${work}/stdout" | head -n 1 | cut -d= -f2)"
    total="$(awk '/^summary:/ { print $2 }' "${work}/callgrind.out")"
    if [[ -z "${ops}" || -z "${total}" ]]; then
        echo "${name}: no ops counter or no callgrind summary" >&2
        exit 1
    fi
    awk -v name="${name}" -v total="${total}" -v chunks="${chunks}" -v ops="${ops}" \
        'BEGIN { printf "%-52s %14.1f\n", name, total / (chunks * ops) }'
done
