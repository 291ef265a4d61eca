#pragma once
/// PatternSet: many literal or regex patterns compiled into one Vectorscan database and matched
/// in one pass over the data. Every detector's multi-pattern prefilter goes through here.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/result.h"

namespace mimamori::match {

/// One pattern of a set.
struct Pattern {
  enum class Kind : uint8_t { kLiteral, kRegex };
  uint32_t id = 0;         ///< reported on a match; several patterns may share an id
  std::string expression;  ///< raw bytes for kLiteral, PCRE syntax for kRegex
  Kind kind = Kind::kLiteral;
  bool caseless = false;
  bool single_match = true;  ///< report each id at most once per scan
};

/// A compiled set of patterns. Immutable once built; scanning is thread-safe with one Scratch
/// per thread.
class PatternSet {
 public:
  /// Per-thread scan state.
  class Scratch {
   public:
    Scratch();
    ~Scratch();
    Scratch(Scratch&&) noexcept;
    Scratch& operator=(Scratch&&) noexcept;

   private:
    friend class PatternSet;
    void* scratch_ = nullptr;  // hs_scratch_t*
  };

  /// Called for each match: pattern id and the offset one past the match's end. Return false
  /// to stop the scan.
  using OnMatch = std::function<bool(uint32_t id, uint64_t end_offset)>;

  PatternSet(PatternSet&&) noexcept;
  PatternSet& operator=(PatternSet&&) noexcept;
  ~PatternSet();

  /// Compiles `patterns`; an error names the first pattern that Vectorscan rejects and why.
  static core::Result<PatternSet> compile(const std::vector<Pattern>& patterns);

  /// Scans `data` (block mode). Scratch must have been prepared with prepare(). On a CPU where
  /// Vectorscan misses matches that end near the end of a buffer (see
  /// vectorscan_misses_tail_matches), `data` is scanned through a padded copy instead, and
  /// matches that end in the padding are not reported.
  core::Status scan(std::string_view data, Scratch& scratch, const OnMatch& on_match) const;

  /// Makes `scratch` fit this set (cheap when it already does).
  core::Status prepare(Scratch& scratch) const;

  /// Number of patterns compiled in.
  std::size_t size() const { return size_; }

  /// Serialised database bytes, for an on-disk cache.
  core::Result<std::string> serialize() const;
  /// Rebuilds a set from serialize()'s bytes.
  static core::Result<PatternSet> deserialize(std::string_view bytes, std::size_t size);

 private:
  PatternSet() = default;
  void* db_ = nullptr;  // hs_database_t*
  std::size_t size_ = 0;
  bool end_assertions_ = false;  // some expression may test the end of data: never padded
};

/// True when this CPU's Vectorscan code path misses matches that end in the last bytes of a
/// buffer (seen with the AVX-512 code of Vectorscan 5.4 on a multi-literal set: a literal
/// ending a buffer of 68 bytes or more is not reported). Found once per process by a probe
/// scan, logged once when true.
bool vectorscan_misses_tail_matches();

/// Escapes raw bytes as `\xNN` for a Vectorscan expression (the literal API rejects patterns
/// that start with NUL, so literals go through the regex compiler escaped).
std::string escape_literal(std::string_view bytes);

}  // namespace mimamori::match
