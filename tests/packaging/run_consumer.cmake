# tests/packaging/run_consumer.cmake: one packaging check, run as
#   cmake -DMODE=<mode> -D... -P run_consumer.cmake
#
# MODE install       configure PAXOS_SOURCE_DIR afresh (as its own top-level
#                    project) and install it into PREFIX
# MODE subdirectory  build and run the consumer with add_subdirectory
# MODE fetchcontent  the same through FetchContent from a file:// archive
# MODE find_package  the same through find_package(paxos REQUEST) from PREFIX
# MODE refuse        find_package(paxos REQUEST CONFIG REQUIRED) must fail,
#                    and fail because of the version, not for another reason
#
# Every step's output is printed on failure, so a red test explains itself.

foreach(var IN ITEMS MODE PAXOS_SOURCE_DIR CONSUMER_SOURCE_DIR WORK_DIR PREFIX
                     CXX_COMPILER EXPECTED_VERSION)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
    endif()
endforeach()

set(generator_args "")
if(GENERATOR)
    list(APPEND generator_args -G "${GENERATOR}")
endif()
if(MAKE_PROGRAM)
    list(APPEND generator_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()

# Runs a command; stores its exit code and merged output in <prefix>_result
# and <prefix>_output.
function(run prefix)
    execute_process(COMMAND ${ARGN}
        RESULT_VARIABLE result
        OUTPUT_VARIABLE output
        ERROR_VARIABLE output)
    set(${prefix}_result "${result}" PARENT_SCOPE)
    set(${prefix}_output "${output}" PARENT_SCOPE)
endfunction()

function(require_success what prefix)
    if(NOT "${${prefix}_result}" STREQUAL "0")
        message(FATAL_ERROR "${what} failed (${${prefix}_result}):\n${${prefix}_output}")
    endif()
endfunction()

# CMake warnings are part of the interface too: a consumer must not see any.
function(require_no_cmake_warning what prefix)
    if("${${prefix}_output}" MATCHES "CMake (Deprecation )?Warning")
        message(FATAL_ERROR "${what} printed a CMake warning:\n${${prefix}_output}")
    endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

if(MODE STREQUAL "install")
    file(REMOVE_RECURSE "${PREFIX}")
    # Explicitly off: as a top-level project these default to ON, and the
    # install must not need doctest, benchmark or a compiled target.
    run(configure "${CMAKE_COMMAND}" ${generator_args}
        -S "${PAXOS_SOURCE_DIR}" -B "${WORK_DIR}/build"
        "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
        -DPAXOS_BUILD_TESTS=OFF -DPAXOS_BUILD_BENCH=OFF -DPAXOS_BUILD_EXAMPLES=OFF)
    require_success("configure of the source tree" configure)
    require_no_cmake_warning("configure of the source tree" configure)
    run(build "${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
    require_success("build of the source tree" build)
    run(install "${CMAKE_COMMAND}" --install "${WORK_DIR}/build" --prefix "${PREFIX}")
    require_success("install" install)

    foreach(file IN ITEMS include/paxos/version.hpp
                          share/cmake/paxos/paxosConfig.cmake
                          share/cmake/paxos/paxosConfigVersion.cmake
                          share/cmake/paxos/paxosTargets.cmake)
        if(NOT EXISTS "${PREFIX}/${file}")
            message(FATAL_ERROR "install did not produce ${file}:\n${install_output}")
        endif()
    endforeach()
    # A header-only package installs headers and its CMake files, nothing else.
    file(GLOB top_level RELATIVE "${PREFIX}" "${PREFIX}/*")
    list(SORT top_level)
    if(NOT top_level STREQUAL "include;share")
        message(FATAL_ERROR "install put unexpected entries in the prefix: ${top_level}")
    endif()
    file(GLOB_RECURSE source_headers RELATIVE "${PAXOS_SOURCE_DIR}/include"
         "${PAXOS_SOURCE_DIR}/include/paxos/*.hpp")
    file(GLOB_RECURSE installed_headers RELATIVE "${PREFIX}/include"
         "${PREFIX}/include/paxos/*.hpp")
    list(SORT source_headers)
    list(SORT installed_headers)
    if(NOT source_headers STREQUAL installed_headers)
        message(FATAL_ERROR "installed headers differ from the source tree:\n"
                            "  source:    ${source_headers}\n  installed: ${installed_headers}")
    endif()
    message(STATUS "installed paxos ${EXPECTED_VERSION} into ${PREFIX}")
    return()
endif()

set(consumer_args
    "-DPAXOS_CONSUME=${MODE}"
    "-DPAXOS_EXPECTED_VERSION=${EXPECTED_VERSION}"
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")

if(MODE STREQUAL "subdirectory")
    list(APPEND consumer_args "-DPAXOS_SOURCE_DIR=${PAXOS_SOURCE_DIR}")
elseif(MODE STREQUAL "fetchcontent")
    # Pack what a release archive holds for building: the top directory has
    # the version in its name, as GitHub's tag archives do. Leaving tests/
    # out also proves a consumer's build never reaches into it.
    set(stage "${WORK_DIR}/stage/paxos-${EXPECTED_VERSION}")
    file(MAKE_DIRECTORY "${stage}")
    file(COPY "${PAXOS_SOURCE_DIR}/CMakeLists.txt" "${PAXOS_SOURCE_DIR}/cmake"
              "${PAXOS_SOURCE_DIR}/include"
         DESTINATION "${stage}")
    set(archive "${WORK_DIR}/paxos-${EXPECTED_VERSION}.tar.gz")
    run(pack "${CMAKE_COMMAND}" -E chdir "${WORK_DIR}/stage"
        "${CMAKE_COMMAND}" -E tar czf "${archive}" "paxos-${EXPECTED_VERSION}")
    require_success("packing the source archive" pack)
    list(APPEND consumer_args "-DPAXOS_ARCHIVE_URL=file://${archive}")
elseif(MODE STREQUAL "find_package" OR MODE STREQUAL "refuse")
    if(NOT EXISTS "${PREFIX}/share/cmake/paxos/paxosConfig.cmake")
        message(FATAL_ERROR "no installed paxos in ${PREFIX}; packaging.install must run first")
    endif()
    if(REQUEST STREQUAL "")
        message(FATAL_ERROR "MODE ${MODE} needs -DREQUEST=<version>")
    endif()
    set(consumer_args
        "-DPAXOS_CONSUME=find_package"
        "-DPAXOS_EXPECTED_VERSION=${EXPECTED_VERSION}"
        "-DPAXOS_REQUEST=${REQUEST}"
        "-DPAXOS_PREFIX=${PREFIX}"
        "-DCMAKE_PREFIX_PATH=${PREFIX}"
        "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
else()
    message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

run(configure "${CMAKE_COMMAND}" ${generator_args}
    -S "${CONSUMER_SOURCE_DIR}" -B "${WORK_DIR}/build" ${consumer_args})

if(MODE STREQUAL "refuse")
    if("${configure_result}" STREQUAL "0")
        message(FATAL_ERROR "find_package(paxos ${REQUEST}) accepted installed paxos "
                            "${EXPECTED_VERSION}; it must be refused:\n${configure_output}")
    endif()
    # Refused for the right reason: the package was found and its version
    # considered, then rejected by paxosConfigVersion.cmake.
    string(REPLACE "." "\\." request_regex "${REQUEST}")
    string(REPLACE "." "\\." expected_regex "${EXPECTED_VERSION}")
    # CMake wraps the message, so any whitespace may separate the words.
    set(gap "[ \t\r\n]+")
    if(NOT configure_output MATCHES
       "compatible${gap}with${gap}requested${gap}version${gap}\"${request_regex}\"")
        message(FATAL_ERROR "configure failed, but not with a version refusal:\n"
                            "${configure_output}")
    endif()
    if(NOT configure_output MATCHES "paxosConfig\\.cmake, version: ${expected_regex}")
        message(FATAL_ERROR "the refusal does not list the installed ${EXPECTED_VERSION}:\n"
                            "${configure_output}")
    endif()
    message(STATUS "find_package(paxos ${REQUEST}) refused paxos ${EXPECTED_VERSION}, as it must")
    return()
endif()

require_success("consumer configure (${MODE})" configure)
require_no_cmake_warning("consumer configure (${MODE})" configure)
run(build "${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
require_success("consumer build (${MODE})" build)
run(consumer "${WORK_DIR}/build/bin/paxos_consumer")
require_success("consumer run (${MODE})" consumer)
if(NOT consumer_output STREQUAL "paxos ${EXPECTED_VERSION}\n")
    message(FATAL_ERROR "consumer printed '${consumer_output}', "
                        "expected 'paxos ${EXPECTED_VERSION}'")
endif()
message(STATUS "consumer via ${MODE}: ${consumer_output}")
