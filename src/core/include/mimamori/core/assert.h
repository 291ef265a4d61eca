#pragma once
/// Assertions for programmer errors only; expected failures are Result values.

#include <cstdio>
#include <cstdlib>

namespace mimamori::core::detail {
[[noreturn]] inline void assertion_failed(const char* expr, const char* file, int line,
                                          const char* why) {
  std::fprintf(stderr, "mimamori: internal error: assertion '%s' failed at %s:%d%s%s\n", expr, file,
               line, why[0] ? ": " : "", why);
  std::abort();
}
}  // namespace mimamori::core::detail

/// Checks an invariant in every build type; a failure is a bug in Mimamori, never bad input.
#define MIMAMORI_ASSERT(expr, ...)                                                           \
  do {                                                                                       \
    if (!(expr)) [[unlikely]]                                                                \
      ::mimamori::core::detail::assertion_failed(#expr, __FILE__, __LINE__, "" __VA_ARGS__); \
  } while (0)
