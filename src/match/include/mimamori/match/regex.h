#pragma once
/// Regex: one PCRE2 pattern, JIT-compiled, for the full evaluation after a prefilter hit.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mimamori/core/result.h"

namespace mimamori::match {

/// PCRE2 compile options Mimamori uses (a subset of PCRE2's, named in our terms).
struct RegexOptions {
  bool caseless = false;
  bool multiline = false;
  bool dotall = false;
  bool extended = false;
  bool anchored = false;
  bool dollar_endonly = false;
  bool ungreedy = false;
  bool utf = false;
};

/// A compiled regular expression. Matching is thread-safe (match data is per call).
class Regex {
 public:
  /// Compiles `pattern`; the error says where in the pattern and why.
  static core::Result<Regex> compile(std::string_view pattern, const RegexOptions& options = {});

  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

  /// Searches `subject` from `start`; on a match sets [match_begin, match_end).
  bool search(std::string_view subject, std::size_t start = 0, std::size_t* match_begin = nullptr,
              std::size_t* match_end = nullptr) const;

  const std::string& pattern() const { return pattern_; }

 private:
  Regex() = default;
  void* code_ = nullptr;  // pcre2_code*
  std::string pattern_;
};

}  // namespace mimamori::match
