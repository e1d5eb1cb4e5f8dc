// tests/unit/main.cpp: the single doctest runner for every tests/unit/test_*.cpp.
//
// Each test file only includes <doctest/doctest.h> and the header it tests;
// this translation unit holds doctest's implementation and main(). ctest
// lists the cases with --list-test-cases and runs each one as its own test.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
