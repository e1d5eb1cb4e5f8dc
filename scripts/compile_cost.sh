#!/usr/bin/env bash
# scripts/compile_cost.sh: what including paxos costs a user's build.
#
#   bash scripts/compile_cost.sh [compiler]      (default g++)
#
# Compiles two translation units with `-std=c++20 -O2 -c` and prints the user
# CPU time of each (median of 3 runs) and their ratio:
#   baseline  includes <vector>, <array>, <span>, <optional> and uses them;
#   replica   includes <paxos/paxos.hpp> and uses replica<multi_paxos<int, 3>>
#             (construct, propose, drain the ready batch), so the templates a
#             user pays for are instantiated, not only parsed.
# Also prints how many lines each TU preprocesses to. The target in issue 10
# is a ratio of at most 2.5.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
cxx="${1:-g++}"
runs=3
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

cat >"${work}/baseline.cpp" <<'CPP'
#include <array>
#include <optional>
#include <span>
#include <vector>

int main() {
    std::vector<int> v{1, 2, 3};
    std::array<int, 3> a{4, 5, 6};
    std::span<const int> s{a};
    std::optional<int> o = v.empty() ? std::nullopt : std::optional<int>{v[0]};
    return static_cast<int>(s.size()) + o.value_or(0) - 4;
}
CPP

cat >"${work}/replica.cpp" <<'CPP'
#include <paxos/paxos.hpp>

using replica = paxos::replica<paxos::multi_paxos<int, 3>>;

int main() {
    replica r{replica::options{.self = paxos::node_id{0}}};
    (void)r.campaign();
    (void)r.propose(7);
    int sent = 0;
    while (r.has_ready()) {
        const auto& rd = r.ready();
        for (const auto& m : rd.send_after_sync) sent += m.from.value + 1;
        (void)r.step(rd.send_after_sync.empty() ? replica::message_type{} : rd.send_after_sync[0]);
        r.advance(rd);
    }
    return sent > 0 ? 0 : 1;
}
CPP

# User CPU seconds of one compile (bash's `times` would include this shell).
cpu_seconds() {
    local out
    out="$({ TIMEFORMAT='%U'; time "${cxx}" -std=c++20 -O2 -Iinclude -c "$1" -o "${work}/out.o"; } 2>&1)"
    echo "${out##*$'\n'}"
}

median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }

declare -A result
for tu in baseline replica; do
    samples=()
    for ((i = 0; i < runs; ++i)); do samples+=("$(cpu_seconds "${work}/${tu}.cpp")"); done
    result[${tu}]="$(median "${samples[@]}")"
    lines="$("${cxx}" -std=c++20 -Iinclude -E "${work}/${tu}.cpp" | wc -l)"
    printf '%-9s %6.2f s user CPU (median of %d: %s), %6d preprocessed lines\n' \
        "${tu}" "${result[${tu}]}" "${runs}" "${samples[*]}" "${lines}"
done
awk -v a="${result[replica]}" -v b="${result[baseline]}" \
    'BEGIN { printf "ratio     %6.2f (replica / baseline; target <= 2.5)\n", a / b }'
