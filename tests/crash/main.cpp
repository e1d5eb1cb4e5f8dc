// tests/crash/main.cpp: the doctest runner of the crash suite (label crash).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
