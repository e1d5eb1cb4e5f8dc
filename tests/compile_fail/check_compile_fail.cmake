# Runs one compile_fail case; see CMakeLists.txt in this folder.
# Inputs: -DCOMPILER=<c++ compiler> -DINCLUDE_DIR=<dir> -DSOURCE=<case.cpp>
cmake_minimum_required(VERSION 3.20)

foreach(_var COMPILER INCLUDE_DIR SOURCE)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "check_compile_fail.cmake: -D${_var}=... is required")
  endif()
endforeach()

file(STRINGS "${SOURCE}" _first_line LIMIT_COUNT 1)
if(_first_line MATCHES "^// expect-success[ \t]*$")
  set(_must_compile TRUE)
elseif(_first_line MATCHES "^// expect: (.+)$")
  set(_must_compile FALSE)
  set(_expected "${CMAKE_MATCH_1}")
  string(STRIP "${_expected}" _expected)
else()
  message(FATAL_ERROR "${SOURCE}: the first line must be `// expect: <regex>` "
                      "or `// expect-success`, found: ${_first_line}")
endif()

set(_flags -std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic)
if(_must_compile)
  # The positive control also proves the headers compile without warnings.
  list(APPEND _flags -Werror)
endif()

# LC_ALL=C keeps the compiler's quotes plain ASCII, so the regex sees ' and not
# typographic quotes.
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E env LC_ALL=C
          "${COMPILER}" ${_flags} "-I${INCLUDE_DIR}" "${SOURCE}"
  RESULT_VARIABLE _status
  OUTPUT_VARIABLE _output
  ERROR_VARIABLE _output)

if(_must_compile)
  if(NOT _status EQUAL 0)
    message(FATAL_ERROR "${SOURCE}: expected to compile, but the compiler failed "
                        "(exit ${_status}):\n${_output}")
  endif()
  message(STATUS "${SOURCE}: compiles, as expected")
  return()
endif()

if(_status EQUAL 0)
  message(FATAL_ERROR "${SOURCE}: expected a compile error matching `${_expected}`, "
                      "but it compiled:\n${_output}")
endif()
if(NOT _output MATCHES "${_expected}")
  message(FATAL_ERROR "${SOURCE}: the compiler failed (exit ${_status}) but its output "
                      "does not match `${_expected}`:\n${_output}")
endif()
message(STATUS "${SOURCE}: fails to compile with the expected message")
