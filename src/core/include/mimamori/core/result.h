#pragma once
/// Result<T>: the value of an operation that can fail in an expected way (bad input, not
/// found, conflict, unreachable peer). Exceptions are kept for start-up and configuration.

#include <fmt/core.h>

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "mimamori/core/assert.h"

namespace mimamori::core {

/// An expected failure: a sentence for a person saying what, where and why, plus an optional
/// machine-readable code (an HTTP status, an errno, a module's own enum).
struct Error {
  std::string message;
  int code = 0;
};

/// Builds an Error from a fmt format string.
template <class... Args>
Error make_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error{fmt::format(f, std::forward<Args>(args)...), 0};
}

/// Builds an Error with a code from a fmt format string.
template <class... Args>
Error make_error_code(int code, fmt::format_string<Args...> f, Args&&... args) {
  return Error{fmt::format(f, std::forward<Args>(args)...), code};
}

/// Either a T or an Error.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  /// True when the operation succeeded.
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  /// The value; calling it on an error is a programmer error.
  T& value() & {
    MIMAMORI_ASSERT(ok(), "Result::value() on an error");
    return std::get<0>(v_);
  }
  const T& value() const& {
    MIMAMORI_ASSERT(ok(), "Result::value() on an error");
    return std::get<0>(v_);
  }
  T&& value() && {
    MIMAMORI_ASSERT(ok(), "Result::value() on an error");
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The value, or `fallback` on error.
  T value_or(T fallback) const& { return ok() ? std::get<0>(v_) : std::move(fallback); }

  /// The error; calling it on a success is a programmer error.
  const Error& error() const& {
    MIMAMORI_ASSERT(!ok(), "Result::error() on a success");
    return std::get<1>(v_);
  }
  Error&& error() && {
    MIMAMORI_ASSERT(!ok(), "Result::error() on a success");
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

/// Success without a value, or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit on purpose

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& {
    MIMAMORI_ASSERT(!ok(), "Result::error() on a success");
    return *error_;
  }
  Error&& error() && {
    MIMAMORI_ASSERT(!ok(), "Result::error() on a success");
    return std::move(*error_);
  }

 private:
  std::optional<Error> error_;
};

/// Shorthand for an operation that returns nothing but can fail.
using Status = Result<void>;

}  // namespace mimamori::core
