// tests/net/main.cpp: the doctest runner of the TCP transport tests (label net).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
