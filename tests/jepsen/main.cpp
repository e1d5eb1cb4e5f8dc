// tests/jepsen/main.cpp: the doctest runner of the checker's tests (label jepsen-check).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
