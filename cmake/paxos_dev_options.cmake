# paxos_dev_options.cmake: build flags for paxos's own tests, examples and
# benchmarks. None of this reaches paxos::paxos, so consumers never inherit
# our warning level, -Werror or sanitizers.
#
# Targets (internal, not installed, not exported):
#   paxos_warnings     -Wall -Wextra -Wpedantic (/W4 on MSVC); -Werror with PAXOS_WERROR
#   paxos_sanitizers   -fsanitize=${PAXOS_SANITIZE} when that is set
#   paxos_dev_options  both of the above, plus libstdc++ bounds checks in Debug
#                      and sanitizer builds
# Function:
#   paxos_target_dev_options(<target>)  links paxos::paxos and paxos_dev_options,
#                                       and asks for strict ISO C++ (no GNU extensions)

option(PAXOS_WERROR "Treat warnings as errors in paxos's own targets" OFF)
set(PAXOS_SANITIZE "" CACHE STRING
    "Sanitizers for paxos's own targets, comma separated (e.g. address,undefined)")

add_library(paxos_warnings INTERFACE)
target_compile_options(paxos_warnings INTERFACE
    "$<$<CXX_COMPILER_ID:GNU,Clang,AppleClang>:-Wall;-Wextra;-Wpedantic>"
    "$<$<CXX_COMPILER_ID:MSVC>:/W4;/permissive->")
if(PAXOS_WERROR)
    target_compile_options(paxos_warnings INTERFACE "$<IF:$<CXX_COMPILER_ID:MSVC>,/WX,-Werror>")
endif()

add_library(paxos_sanitizers INTERFACE)
if(NOT PAXOS_SANITIZE STREQUAL "")
    if(NOT PAXOS_SANITIZE MATCHES "^[a-z-]+(,[a-z-]+)*$")
        message(FATAL_ERROR "paxos: PAXOS_SANITIZE='${PAXOS_SANITIZE}' is not a comma-separated "
                            "list of sanitizer names, such as address,undefined")
    endif()
    if(NOT CMAKE_CXX_COMPILER_ID MATCHES "^(GNU|Clang|AppleClang)$")
        message(FATAL_ERROR "paxos: PAXOS_SANITIZE needs GCC or Clang, "
                            "not ${CMAKE_CXX_COMPILER_ID}")
    endif()
    # Stop at the first report (a sanitizer finding must fail the test, not
    # scroll past) and keep frame pointers so the stack traces are whole.
    target_compile_options(paxos_sanitizers INTERFACE
        -fsanitize=${PAXOS_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(paxos_sanitizers INTERFACE -fsanitize=${PAXOS_SANITIZE})
endif()

add_library(paxos_dev_options INTERFACE)
target_link_libraries(paxos_dev_options INTERFACE paxos_warnings paxos_sanitizers)
# ASan cannot see an index that runs past one std::array member into the next
# member of the same object; libstdc++'s own checks can, at little cost.
# Not in Release: the benchmarks must time the code users will run.
if(NOT PAXOS_SANITIZE STREQUAL "")
    target_compile_definitions(paxos_dev_options INTERFACE _GLIBCXX_ASSERTIONS)
else()
    target_compile_definitions(paxos_dev_options INTERFACE
        "$<$<CONFIG:Debug>:_GLIBCXX_ASSERTIONS>")
endif()

function(paxos_target_dev_options target)
    target_link_libraries(${target} PRIVATE paxos::paxos paxos_dev_options)
    # -std=c++20 rather than gnu++20: a GNU extension in a header would
    # otherwise pass our build and fail on a stricter consumer's.
    set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF)
endfunction()
