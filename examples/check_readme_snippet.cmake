# examples/check_readme_snippet.cmake: README.md's quick start is
# examples/quickstart.cpp, less the file's opening comment lines. Readers
# copy the README; CI compiles and runs the file; this keeps them one text.
#
#   cmake -DREADME=README.md -DEXAMPLE=examples/quickstart.cpp -DOUT=dir -P this
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)

string(FIND "${readme}" "\n## Quick start\n" section)
if(section EQUAL -1)
    message(FATAL_ERROR "${README}: no '## Quick start' section")
endif()
string(SUBSTRING "${readme}" ${section} -1 readme)
string(FIND "${readme}" "\n```cpp\n" open)
if(open EQUAL -1)
    message(FATAL_ERROR "${README}: no ```cpp block in the quick start")
endif()
math(EXPR open "${open} + 8")  # past "\n```cpp\n"
string(SUBSTRING "${readme}" ${open} -1 readme)
string(FIND "${readme}" "\n```" close)
math(EXPR close "${close} + 1")  # keep the last line's newline
string(SUBSTRING "${readme}" 0 ${close} snippet)

string(REGEX REPLACE "^(//[^\n]*\n)+" "" example "${example}")

if(NOT snippet STREQUAL example)
    file(WRITE "${OUT}/readme_quickstart.cpp" "${snippet}")
    file(WRITE "${OUT}/example_quickstart.cpp" "${example}")
    message(FATAL_ERROR "README.md's quick start differs from ${EXAMPLE}; see\n"
                        "  diff ${OUT}/readme_quickstart.cpp ${OUT}/example_quickstart.cpp\n"
                        "and copy the example into the README (without its opening comment)")
endif()
