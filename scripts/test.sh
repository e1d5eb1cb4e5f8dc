#!/usr/bin/env bash
# scripts/test.sh: the project's one test command (the README's, and CI's).
#
#   bash scripts/test.sh          formatting, then g++ -Werror (Debug), clang++
#                                 -Werror with ASan+UBSan, and g++ -O3 -Werror
#                                 (Release)
#   bash scripts/test.sh quick    g++ -Werror only, for quick iteration
#
# Each configuration is a CMake preset (see CMakePresets.json) that is
# configured, built and tested with `ctest --output-on-failure`. The full run
# first checks that every C++ file under include/, tests/, bench/ and
# examples/ is as clang-format (.clang-format) would write it. A failing step
# does not stop the next one, so one run reports everything; the exit status
# is non-zero if any step failed. Missing tools are installed with apt-get
# when possible.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode="${1:-full}"
case "${mode}" in
    # opt: the optimizer removes code that Debug keeps (a test once failed
    # only at -O3), and some warnings appear only with optimization. clang++
    # builds once, in asan, with the same -Werror flags: a separate clang
    # Debug pass found nothing asan's did not and cost seven minutes.
    # (`cmake --preset clang` is still there for a clang Debug build.)
    full) presets=(dev asan opt) ;;
    quick) presets=(dev) ;;
    *)
        echo "usage: bash scripts/test.sh [quick]" >&2
        exit 2
        ;;
esac

jobs="${PAXOS_TEST_JOBS:-2}"

# --- tools ------------------------------------------------------------------

missing=()
[[ -f /usr/include/doctest/doctest.h ]] || missing+=(doctest-dev)
[[ -f /usr/include/benchmark/benchmark.h ]] || missing+=(libbenchmark-dev)
# Canonical raft, the peer bench_end_to_end measures beside us (optional for a
# build, installed here so bench-smoke runs the peer too).
[[ -f /usr/include/raft/fixture.h ]] || missing+=(libraft-dev)
# The kv tests drive paxos_kv with real Redis clients (redis-cli,
# redis-benchmark); without them those tests skip, saying so.
command -v redis-benchmark >/dev/null || missing+=(redis-tools)
command -v cmake >/dev/null || missing+=(cmake)
command -v ninja >/dev/null || missing+=(ninja-build)
command -v g++ >/dev/null || missing+=(g++)
if [[ "${mode}" == full ]]; then
    command -v clang++ >/dev/null || missing+=(clang)
    command -v clang-format >/dev/null || missing+=(clang-format)
fi

if ((${#missing[@]} > 0)); then
    echo "== installing: ${missing[*]}"
    as_root=""
    if [[ "$(id -u)" != 0 ]]; then
        if ! command -v sudo >/dev/null; then
            echo "scripts/test.sh: need ${missing[*]}; install them (apt-get) and rerun" >&2
            exit 1
        fi
        as_root=sudo
    fi
    ${as_root} apt-get update
    ${as_root} env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
fi

echo "== $(cmake --version | head -n 1); $(g++ --version | head -n 1)"
if [[ "${mode}" == full ]]; then
    echo "== $(clang++ --version | head -n 1)"
fi

# --- configurations ---------------------------------------------------------

summary=()
failed=0

# Runs one step, records its duration; returns the step's status.
step() {
    local preset="$1" name="$2"
    shift 2
    local start=${SECONDS}
    echo
    echo "== [${preset}] ${name}: $*"
    local status=0
    "$@" || status=$?
    local seconds=$((SECONDS - start))
    if ((status == 0)); then
        summary+=("$(printf '%-6s %-9s ok    %4ds' "${preset}" "${name}" "${seconds}")")
    else
        summary+=("$(printf '%-6s %-9s FAIL  %4ds  (exit %d)' \
            "${preset}" "${name}" "${seconds}" "${status}")")
        failed=1
    fi
    return "${status}"
}

# Names every file that clang-format would change, with its first difference.
check_format() {
    local files=() unformatted=() file first
    while IFS= read -r -d '' file; do files+=("${file}"); done < <(
        find include tests bench examples -type f \( -name '*.hpp' -o -name '*.cpp' -o -name '*.h' \) \
            -print0 | sort -z)
    for file in "${files[@]}"; do
        if ! first="$(clang-format --dry-run --Werror "${file}" 2>&1)"; then
            unformatted+=("${file}")
            echo "   ${first%%$'\n'*}"
        fi
    done
    if ((${#unformatted[@]} > 0)); then
        echo "== ${#unformatted[@]} of ${#files[@]} files not formatted ($(clang-format --version)):"
        printf '   %s\n' "${unformatted[@]}"
        echo "   fix with: clang-format -i <file>..."
        return 1
    fi
    echo "   ${#files[@]} files formatted"
}

total_start=${SECONDS}
if [[ "${mode}" == full ]]; then
    step all format check_format || true
fi
for preset in "${presets[@]}"; do
    step "${preset}" configure cmake --preset "${preset}" &&
        step "${preset}" build cmake --build --preset "${preset}" -j "${jobs}" &&
        step "${preset}" test ctest --preset "${preset}" -j "${jobs}" ||
        true
done

echo
echo "== summary (${mode}, $((SECONDS - total_start))s)"
printf '   %s\n' "${summary[@]}"
# The failing tests again, by name: a long log is often read from its end.
for preset in "${presets[@]}"; do
    failed_log="build/${preset}/Testing/Temporary/LastTestsFailed.log"
    if [[ -s "${failed_log}" ]]; then
        echo "== [${preset}] failed tests:"
        sed 's/^/   /' "${failed_log}"
    fi
done
if ((failed)); then
    echo "== FAILED"
    exit 1
fi
echo "== all passed"
