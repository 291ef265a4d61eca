#pragma once
/// DatabaseCache: compiled pattern sets kept on disk between runs, so that a detector that
/// loads the same patterns again (the rule engine, Sigma) skips Vectorscan's compile, which
/// takes seconds for thousands of patterns.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/result.h"
#include "mimamori/match/pattern_set.h"

namespace mimamori::match {

/// A folder of compiled databases, one file per pattern list, named by a hash of the list.
/// A file is used only when it is a regular file that holds exactly the requested patterns
/// and Vectorscan accepts its bytes; a damaged or foreign one is refused with a warning that
/// names it and why, then rebuilt. Files are written under a temporary name and renamed, so
/// a run never reads half a file another run is writing. Not thread-safe: one per build.
class DatabaseCache {
 public:
  /// A cache in `dir`, created when the first database is stored; an empty `dir` keeps
  /// nothing (every request compiles). `name` starts its log lines, e.g. "rule cache".
  DatabaseCache(std::filesystem::path dir, std::string name);

  /// The set compiled from `patterns`: read from the cache when a file holds exactly these
  /// patterns and `salt` (the caller's own version of what the patterns mean), else compiled
  /// and stored. A compile error is returned as PatternSet::compile gives it; a cache that
  /// cannot be written costs a warning only.
  core::Result<PatternSet> compile(const std::vector<Pattern>& patterns,
                                   std::string_view salt = {});

  /// The file that holds, or would hold, the database of `patterns` with `salt`.
  std::filesystem::path file_for(const std::vector<Pattern>& patterns,
                                 std::string_view salt = {}) const;

  /// Databases read from the cache.
  std::size_t hits() const { return hits_; }
  /// Databases compiled (no cache folder, no file, or a refused one).
  std::size_t misses() const { return misses_; }
  /// Cache files refused as damaged, foreign or not regular files.
  std::size_t refused() const { return refused_; }

 private:
  std::filesystem::path dir_;
  std::string name_;
  std::size_t hits_ = 0;
  std::size_t misses_ = 0;
  std::size_t refused_ = 0;
  bool write_failed_ = false;  // warned once; later stores are still tried, quietly
};

}  // namespace mimamori::match
