#pragma once
/// Sigma rules (specification v2) compiled once into matchers over flat field maps. String
/// tests of all rules go into one Vectorscan set per (log source, field), so an event costs one
/// scan per field however many rules there are; the conditions are then evaluated exactly.

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/clock.h"
#include "mimamori/core/result.h"

namespace mimamori::sigma {

/// Sigma's `level`.
enum class Level : uint8_t { kInformational, kLow, kMedium, kHigh, kCritical };

/// `informational`, `low`, …; unknown text is nullopt.
std::optional<Level> parse_level(std::string_view text);
/// The level's Sigma name.
std::string_view level_name(Level level);

/// What a loaded rule says about itself.
struct RuleInfo {
  std::string id;
  std::string name;  ///< v2 `name`, referenced by correlations
  std::string title;
  std::string description;
  std::string status;
  std::string author;
  std::string file;  ///< where it was loaded from
  Level level = Level::kMedium;
  std::vector<std::string> tags;
  std::vector<std::string> fields;  ///< the rule's `fields` list (what matters in a hit)
  std::string product, category, service;
  bool correlation = false;  ///< a correlation rule (fires from other rules' matches)
  bool generate = true;      ///< false: a base rule used only by correlations
};

/// A rule that could not be loaded: the file and the reason.
struct LoadError {
  std::string file;
  std::string reason;
};

/// One field of an event, by name (System and EventData fields of a Windows event, or any
/// flat key of a JSON export).
struct FieldView {
  std::string_view name;
  std::string_view value;
};

/// Options for loading.
struct LoadOptions {
  /// Values for `%placeholder%` in `expand` values; a rule using an unknown one is not loaded.
  std::map<std::string, std::vector<std::string>> placeholders;
};

class Matcher;

/// A compiled set of rules. Immutable after compile(); matched by one Matcher per thread.
class RuleSet {
 public:
  RuleSet();
  ~RuleSet();
  RuleSet(RuleSet&&) noexcept;
  RuleSet& operator=(RuleSet&&) noexcept;

  /// Loads one YAML file (one or more documents). Rules that fail go to errors().
  void load_file(const std::string& path, const LoadOptions& options = {});
  /// Loads every `.yml`/`.yaml` below `dir` (or the file itself).
  void load_path(const std::string& path, const LoadOptions& options = {});
  /// Loads rule text; `file` names it in errors.
  void load_text(std::string_view yaml, const std::string& file, const LoadOptions& options = {});
  /// Builds the pattern databases; an error means a database could not be built at all.
  /// With `cache_dir`, compiled databases are kept there (named by a hash of their patterns)
  /// and reused by later runs (match::DatabaseCache); a missing entry is built, a damaged or
  /// foreign one is refused with a warning and rebuilt.
  core::Status compile(const std::string& cache_dir = {});
  /// Databases taken from the cache by compile(), and built afresh.
  std::pair<std::size_t, std::size_t> cache_use() const;

  /// The rules loaded (index = the rule number reported by matches).
  const std::vector<RuleInfo>& rules() const;
  /// The rules that could not be loaded.
  const std::vector<LoadError>& errors() const;
  /// Number of rule files looked at.
  std::size_t files_seen() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

/// Per-thread matching state over a compiled RuleSet.
class Matcher {
 public:
  explicit Matcher(const RuleSet& rules);
  ~Matcher();
  Matcher(Matcher&&) noexcept;

  /// Appends to `hits` the numbers of the (non-correlation) rules that match the event.
  void match(std::span<const FieldView> event, std::vector<uint32_t>& hits);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

/// One base-rule hit given to correlations.
struct CorrelationInput {
  uint32_t rule = 0;
  core::Timestamp time;
  uint64_t event = 0;  ///< the caller's number for the event
  /// Values of every field named by a correlation's group-by or value_count field.
  std::vector<std::pair<std::string, std::string>> fields;
};

/// A correlation rule that fired: the rule, the group, the time span and the events.
struct CorrelationHit {
  uint32_t rule = 0;
  std::string group;  ///< `field=value, …`
  core::Timestamp first, last;
  std::vector<uint64_t> events;
  uint64_t count = 0;  ///< events (event_count) or distinct values (value_count)
};

/// The field names that correlations of `rules` group by or count (what CorrelationInput needs).
std::vector<std::string> correlation_fields(const RuleSet& rules);
/// Evaluates the correlation rules over base-rule hits (any order).
std::vector<CorrelationHit> correlate(const RuleSet& rules, std::vector<CorrelationInput> inputs);

}  // namespace mimamori::sigma
