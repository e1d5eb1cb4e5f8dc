# Builds paxos_sim with g++ and with clang++, runs the same seeds with each
# (twice with g++), and requires identical trace hashes.
file(MAKE_DIRECTORY "${WORK_DIR}")
set(seeds 1-60)
foreach(compiler IN ITEMS GXX CLANGXX)
    set(binary "${WORK_DIR}/paxos_sim_${compiler}")
    execute_process(
        COMMAND "${${compiler}}" -std=c++20 -O1 -I "${INCLUDE_DIR}" "${SOURCE}" -o "${binary}"
        RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT status EQUAL 0)
        message(FATAL_ERROR "building paxos_sim with ${${compiler}} failed:\n${out}${err}")
    endif()
    execute_process(COMMAND "${binary}" --seeds ${seeds} --hashes --quiet
        RESULT_VARIABLE status OUTPUT_VARIABLE hashes_${compiler})
    if(NOT status EQUAL 0)
        message(FATAL_ERROR "paxos_sim (${compiler}) failed:\n${hashes_${compiler}}")
    endif()
endforeach()
execute_process(COMMAND "${WORK_DIR}/paxos_sim_GXX" --seeds ${seeds} --hashes --quiet
    OUTPUT_VARIABLE hashes_again)
if(NOT hashes_GXX STREQUAL hashes_again)
    message(FATAL_ERROR "two runs of the same seeds gave different trace hashes")
endif()
if(NOT hashes_GXX STREQUAL hashes_CLANGXX)
    message(FATAL_ERROR "g++ and clang++ runs differ:\n--- g++\n${hashes_GXX}\n--- clang++\n"
                        "${hashes_CLANGXX}")
endif()
string(REGEX MATCHALL "hash [0-9a-f]+" lines "${hashes_GXX}")
list(LENGTH lines count)
if(count LESS 60)
    message(FATAL_ERROR "expected 60 hashes, got ${count}:\n${hashes_GXX}")
endif()
message(STATUS "${count} seeds: identical trace hashes with g++ and clang++")
