// tests/wire/main.cpp: the doctest runner for the wire codec tests (label `wire`).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
