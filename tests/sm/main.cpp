// tests/sm/main.cpp: the doctest runner of the state-machine parts (label sessions).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
