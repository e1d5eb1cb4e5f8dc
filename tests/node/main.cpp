// tests/node/main.cpp: the doctest runner of the node driver tests (label node).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
