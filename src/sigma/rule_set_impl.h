#pragma once
// The compiled form of a RuleSet (private to sigma): rules as variants per log source, their
// detection items and conditions, and the per-(bucket, field) pattern databases.

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mimamori/core/ip_address.h"
#include "mimamori/match/pattern_set.h"
#include "mimamori/match/regex.h"
#include "mimamori/sigma/rules.h"

namespace mimamori::sigma {

/// One test of a field's value.
struct ValueTest {
  enum Op : uint8_t {
    kPattern,   // a string test compiled into the bucket's field database
    kEmpty,     // value is the empty string
    kAny,       // any value (the field is present)
    kRegex,     // PCRE2
    kNumber,    // gt/gte/lt/lte
    kCidr,      // IP in a network
    kFieldRef,  // compared with another field of the same event
    kNull,      // field absent or empty
    kExists,    // field present (or absent when negate)
  };
  Op op = kPattern;
  bool negate = false;   // kExists: false → must be absent
  uint32_t pattern = 0;  // kPattern: global pattern id
  uint32_t regex = 0;    // kRegex: index into Impl::regexes
  char cmp = '>';        // kNumber: '>' gt, 'G' gte, '<' lt, 'L' lte
  double number = 0;     // kNumber
  core::IpAddress net;   // kCidr
  int prefix = 0;        // kCidr
  std::string other;     // kFieldRef: the other field
  uint8_t ref_mode = 0;  // kFieldRef: 0 equals, 1 contains, 2 startswith, 3 endswith
  bool cased = false;    // kFieldRef
};

/// One `field|modifiers: values` entry.
struct Item {
  std::string field;  // empty: keywords, any field
  bool all = false;   // every test must hold (otherwise any)
  std::vector<ValueTest> tests;
};

/// A node of a compiled condition.
struct CondNode {
  enum Kind : uint8_t { kAnd, kOr, kNot, kSelection, kConst };
  CondNode() = default;
  explicit CondNode(Kind k) : kind(k) {}
  Kind kind = kAnd;
  bool value = false;          // kConst
  uint32_t selection = 0;      // kSelection
  std::vector<uint32_t> kids;  // kAnd/kOr/kNot
};

/// A detection identifier: OR over AND-groups of items.
struct Selection {
  std::string name;
  std::vector<std::vector<uint32_t>> groups;
};

/// A rule compiled for one log source (a Security 4688 variant of a process_creation rule has
/// its fields renamed).
struct Variant {
  uint32_t rule = 0;
  std::vector<Item> items;
  std::vector<Selection> selections;
  std::vector<CondNode> nodes;
  uint32_t root = 0;
};

/// A string pattern waiting to be compiled into a bucket's field database.
struct PendingPattern {
  uint32_t id = 0;
  std::string expression;
  bool caseless = true;
  bool at_end = false;  // must end where the value ends (checked on the match, see matcher)
};

/// A field's database within a bucket: the shared compiled set and its local → global ids.
struct FieldDb {
  std::string field;
  uint32_t set = 0;           // index into Impl::sets
  std::vector<uint32_t> ids;  // local pattern id → global pattern id
};

/// Rules that apply to the same events: one channel (or any) and a set of event IDs (or any).
struct Bucket {
  std::string channel;                 // lower case; empty: any channel
  std::vector<std::string> event_ids;  // empty: any
  bool foreign = false;                // rules of other products: only events without a Channel
  std::vector<uint32_t> variants;
  std::unordered_map<std::string, std::vector<PendingPattern>> pending;  // by field ("" keywords)
  std::vector<FieldDb> dbs;  // by field; field "" holds the keywords (any field)
  std::unordered_map<std::string_view, uint32_t> db_index;  // field → dbs index (not keywords)
  int keyword_db = -1;                                      // dbs index of the keywords
  // Variants that can match without any of their string patterns matching (e.g. `not filter`,
  // regex or number tests only): evaluated for every event of the bucket. The others are
  // evaluated only when one of their patterns matched (see Impl::pattern_variants).
  std::vector<uint32_t> ungated;
};

/// A correlation rule, resolved to base rule numbers at compile time.
struct Correlation {
  uint32_t rule = 0;
  enum Type : uint8_t { kEventCount, kValueCount, kTemporal, kTemporalOrdered } type = kEventCount;
  std::vector<std::string> rule_refs;
  std::vector<uint32_t> rules;
  std::vector<std::string> group_by;
  int64_t timespan_us = 0;
  std::string field;  // value_count
  char cmp = 'G';     // '>' gt, 'G' gte, '<' lt, 'L' lte, '=' eq
  double threshold = 1;
  bool generate = false;
};

struct RuleSet::Impl {
  std::vector<RuleInfo> rules;
  std::vector<LoadError> errors;
  std::size_t files = 0;
  std::vector<Variant> variants;
  std::vector<match::Regex> regexes;
  std::vector<Bucket> buckets;
  // Compiled sets, shared by buckets whose field has the same patterns (a 4688 variant and its
  // Sysmon original share most of theirs).
  std::vector<match::PatternSet> sets;
  std::unordered_map<std::string, std::vector<uint32_t>> by_channel;  // lower-case channel
  std::vector<uint32_t> any_channel;                                  // windows, no channel
  std::vector<uint32_t> foreign;                                      // other products
  std::vector<Correlation> correlations;
  uint32_t pattern_count = 0;
  std::size_t cache_hits = 0, cache_misses = 0;
  // Per pattern id: must end at the value's end. End anchors are checked on the reported
  // offset instead of compiled in, which keeps Vectorscan's compile time low.
  std::vector<uint8_t> at_end;
  // Per pattern id: the variants that need one of their patterns to match, so are candidates
  // only when this one did.
  std::vector<std::vector<uint32_t>> pattern_variants;
  bool compiled = false;

  uint32_t bucket_for(const std::string& channel, const std::vector<std::string>& ids,
                      bool foreign);
};

/// Where a Windows log source's events are: channels and event IDs (empty: any) and whether
/// the 4688 process-creation renames apply.
struct LogTarget {
  std::string channel;
  std::vector<std::string> event_ids;
  bool security_4688 = false;
};

/// Maps a rule's logsource to targets. Empty result with `known` false: no mapping (the rule
/// applies to every event of its product).
std::vector<LogTarget> map_logsource(const std::string& product, const std::string& category,
                                     const std::string& service, bool& known);

/// The Security 4688 name of a Sysmon process-creation field (the same name when none).
std::string rename_for_4688(const std::string& field);

/// Parses a condition over the selection names into nodes; the error says what is wrong.
core::Result<uint32_t> parse_condition(std::string_view text,
                                       const std::vector<Selection>& selections,
                                       std::vector<CondNode>& nodes);

/// Variants of a value for the windash modifier (`-` and `/` swapped for dash forms).
std::vector<std::string> windash_forms(const std::string& value);
/// The three shifted base64 forms of `bytes` that appear inside a longer encoded text.
std::vector<std::string> base64_offsets(std::string_view bytes);
/// UTF-8 to UTF-16 (little or big endian) bytes.
std::string to_utf16(std::string_view utf8, bool big_endian);

}  // namespace mimamori::sigma
