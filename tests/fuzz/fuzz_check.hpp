#pragma once
// An invariant a fuzz target checks: a violation prints where and aborts, which libFuzzer
// reports as a crash and saves the input. (assert() would vanish under NDEBUG.)
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                         \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (false)
