#pragma once
/// Loading rule files: `classification.config`, variables, `include`, comments, multi-line
/// rules. Every rule that cannot be used is recorded with file, line, sid and the exact reason.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mimamori/core/result.h"
#include "mimamori/net/rules/address.h"
#include "mimamori/net/rules/management.h"
#include "mimamori/net/rules/signature.h"

namespace mimamori::core {
class Config;
}

namespace mimamori::net::rules {

/// The whole of a regular file of at most 1 GiB (rule, classification, threshold files), or why
/// not.
core::Result<std::string> read_whole_file(const std::filesystem::path& path);

/// A rule that was not loaded, and why.
struct SkippedRule {
  std::string file;
  int line = 0;
  uint64_t sid = 0;  ///< 0 when the rule's sid could not be read
  std::string reason;
};

/// Interned names (flowbits, flowints, xbits) shared by the rules of one set.
class NameTable {
 public:
  /// The id of `name`, adding it when new.
  uint32_t intern(std::string_view name);
  /// The name of `id`.
  const std::string& name(uint32_t id) const { return names_[id]; }
  /// Number of names.
  std::size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, uint32_t> ids_;
};

/// A `classification.config` entry.
struct ClassType {
  std::string description;
  int priority = 3;
};

/// What one rule parse needs besides the text.
struct ParseContext {
  const Variables* address_vars = nullptr;
  const Variables* port_vars = nullptr;
  const std::map<std::string, ClassType, std::less<>>* classtypes = nullptr;
  NameTable* flowbits = nullptr;
  NameTable* flowints = nullptr;
  NameTable* xbits = nullptr;
  /// Address and port groups already parsed with these variables, by their text (rule sets
  /// repeat a few groups thousands of times); null: no memo.
  std::map<std::string, AddressSet, std::less<>>* address_memo = nullptr;
  std::map<std::string, PortSet, std::less<>>* port_memo = nullptr;
  /// Compiled pcre patterns by pattern and options (shared: a Regex is immutable); null: none.
  std::map<std::string, std::shared_ptr<const match::Regex>, std::less<>>* regex_memo = nullptr;
};

/// Parses one rule (continuation lines already joined). The error is the reason the rule is
/// skipped, e.g. "unsupported keyword 'base64_decode'".
core::Result<Signature> parse_rule(std::string_view text, const ParseContext& ctx);

/// The sid written in a rule's text, or 0 (used to name rules that fail to parse).
uint64_t sniff_sid(std::string_view text);

/// The rules loaded from a set of files, and the ones skipped.
struct RuleSet {
  std::vector<Signature> signatures;
  std::vector<SkippedRule> skipped;
  std::size_t enabled = 0;   ///< enabled rule lines seen (loaded + skipped)
  std::size_t disabled = 0;  ///< rules turned off by disable.conf (not counted in `enabled`)
  NameTable flowbits, flowints, xbits;
  std::vector<std::string> files;  ///< files read, in order (for the cache key)
};

/// A readable summary of a load: how many rules load, and a table of skip reasons (most
/// frequent first, with one example file:line sid each). `verbose` lists every skipped rule.
std::string describe_load(const RuleSet& set, bool verbose);

/// Reads rule files into a RuleSet.
class RuleLoader {
 public:
  /// A loader with Suricata's default variables and no classification.
  RuleLoader();
  /// A loader whose variables come from `vars.address-groups` / `vars.port-groups` of `config`
  /// (over the defaults). Throws core::ConfigError on a bad group.
  explicit RuleLoader(const core::Config& config);

  /// Sets (or replaces) one address variable (`HOME_NET`).
  void set_address_variable(std::string name, std::string value);
  /// Sets (or replaces) one port variable (`HTTP_PORTS`).
  void set_port_variable(std::string name, std::string value);

  /// Applies enable/disable/modify edits to every rule read from now on.
  void set_edits(RuleEdits edits) { edits_ = std::move(edits); }
  /// The address variables (for threshold.config's `ip`).
  const Variables& address_variables() const { return address_vars_; }
  /// The port variables.
  const Variables& port_variables() const { return port_vars_; }

  /// Reads a classification.config; an error names the file and line.
  core::Status load_classification(const std::filesystem::path& path);
  /// Adds classification lines (`config classification: name,description,priority`).
  core::Status load_classification_text(std::string_view text, std::string_view source);

  /// Reads a rule file (and the files it includes). An error means the file could not be
  /// read; bad rules go to the skipped list instead.
  core::Status load_file(const std::filesystem::path& path);
  /// Reads rules from text; `source` names it in skip reasons.
  void load_text(std::string_view text, std::string_view source);

  /// The rules so far; the loader is empty afterwards.
  RuleSet take();

 private:
  void load_text_at(std::string_view text, const std::string& source,
                    const std::filesystem::path& dir, int depth);
  void add_rule(std::string_view text, const std::string& source, int line);

  RuleEdits edits_;
  std::unordered_map<uint64_t, std::size_t> sids_;  // (gid << 40 | sid) -> index in signatures
  Variables address_vars_;
  Variables port_vars_;
  std::map<std::string, AddressSet, std::less<>> address_memo_;  // cleared when variables change
  std::map<std::string, PortSet, std::less<>> port_memo_;
  std::map<std::string, std::shared_ptr<const match::Regex>, std::less<>> regex_memo_;
  std::map<std::string, ClassType, std::less<>> classtypes_;
  RuleSet set_;
};

/// Everything that decides which rules load, read once from the configuration so that a
/// reload can repeat it without the configuration object.
struct RuleSources {
  std::vector<std::string> files;
  std::string classification;  ///< empty: look beside the first rule file
  Variables address_vars, port_vars;
  std::string disable_conf, enable_conf, modify_conf, threshold_file;
  /// From `classification-file`, `vars.*`, `rules.{disable,enable,modify}-conf` and
  /// `threshold-file`; throws core::ConfigError on a bad variable.
  static RuleSources from_config(const core::Config& config, std::vector<std::string> rule_files,
                                 std::string classification_file = {});
};

/// Loads rules as `src` says (edits while reading, threshold.config after).
core::Result<RuleSet> load_rules(const RuleSources& src);

/// Loads rule files the way the sensor does: classification from `classification` (or, when
/// empty, a `classification.config` beside the first rule file or one folder up), variables
/// from `config` when given. An error means a file could not be read.
core::Result<RuleSet> load_rule_files(const std::vector<std::string>& files,
                                      const std::string& classification,
                                      const core::Config* config);

}  // namespace mimamori::net::rules
