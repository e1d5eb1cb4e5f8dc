// tests/kv/main.cpp: the doctest runner of paxos_kv's building blocks (label kv).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
