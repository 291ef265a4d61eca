#pragma once
// Detection maps -> variants (private to sigma): the selections of a rule as read from YAML,
// and the compiler that binds them to a log source's bucket as items, value tests and pending
// patterns. rule_set.cc reads rules and calls it; compile.cc builds the databases after.

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "rule_set_impl.h"

namespace mimamori::sigma {

// A detection entry before it is bound to a log source.
struct ItemSpec {
  std::string field;
  std::vector<std::string> mods;
  std::vector<std::optional<std::string>> values;  // nullopt: YAML null
};

struct SelectionSpec {
  std::string name;
  std::vector<std::vector<ItemSpec>> groups;
};

// Thrown inside one rule's loading only; caught per rule and turned into a LoadError.
struct RuleError {
  std::string reason;
};

/// Stops loading the current rule with `reason`.
[[noreturn]] inline void fail(std::string reason) { throw RuleError{std::move(reason)}; }

/// A YAML scalar's text, or "" for anything else.
inline std::string scalar(const YAML::Node& n) {
  return n && n.IsScalar() ? n.Scalar() : std::string();
}

/// One detection identifier (a map, a list of maps, or a list of keywords); throws RuleError.
SelectionSpec parse_selection(const std::string& name, const YAML::Node& node);

/// A whole number text as a double (from_chars: no blanks, no hex).
bool parse_number(const std::string& s, double& out);

/// Builds the variant of rule number `rule` for `bucket`: its items (fields renamed for the
/// Security 4688 form when `rename_4688`), selections and conditions; string tests register
/// their patterns in the bucket. Throws RuleError.
Variant build_variant(RuleSet::Impl& impl, const LoadOptions& options, uint32_t rule,
                      uint32_t bucket, const std::vector<SelectionSpec>& sels,
                      const std::vector<std::string>& conditions, bool rename_4688);

}  // namespace mimamori::sigma
