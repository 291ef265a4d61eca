#pragma once
/// Rule management as suricata-update and Suricata do it: enable.conf / disable.conf /
/// modify.conf applied while rule files load, and threshold.config (threshold, event_filter,
/// suppress) applied to the loaded signatures.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/result.h"
#include "mimamori/net/rules/address.h"

namespace mimamori::net::rules {

struct RuleSet;

/// Which rules to enable, disable or rewrite, by sid, gid:sid, `re:REGEX` on the rule text or
/// `group:FILE` (the rule file's name).
class RuleEdits {
 public:
  RuleEdits();
  ~RuleEdits();
  RuleEdits(RuleEdits&&) noexcept;
  RuleEdits& operator=(RuleEdits&&) noexcept;

  /// Reads a disable.conf (one selector per line, `#` comments); errors name file:line.
  core::Status load_disable(const std::filesystem::path& path);
  /// Reads an enable.conf: selected rules that are commented out in their file load too.
  core::Status load_enable(const std::filesystem::path& path);
  /// Reads a modify.conf: `SELECTOR "from" "to"` replaces every match of the regex `from` in
  /// the selected rules' text by `to` (literally; no back-references).
  core::Status load_modify(const std::filesystem::path& path);
  /// Adds lines of the given kind ("disable", "enable", "modify") from text.
  core::Status add_text(std::string_view kind, std::string_view text, std::string_view source);

  /// True when nothing is configured.
  bool empty() const;
  /// True when the rule (gid, sid, text, from `file`) is disabled.
  bool disabled(uint32_t gid, uint64_t sid, std::string_view text, std::string_view file) const;
  /// True when the (commented-out) rule is enabled.
  bool enabled(uint32_t gid, uint64_t sid, std::string_view text, std::string_view file) const;
  /// Applies the modifications to `text` in place; returns how many applied.
  int modify(uint32_t gid, uint64_t sid, std::string& text, std::string_view file) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// Applies a threshold.config to `set`: `threshold`/`event_filter` lines replace a rule's
/// threshold, `suppress` lines (with or without `track`/`ip`) silence alerts. Lines naming
/// unknown sids or using unsupported forms (rate_filter) are reported in the error.
core::Status apply_threshold_config(RuleSet& set, std::string_view text, std::string_view source,
                                    const Variables& address_vars);

}  // namespace mimamori::net::rules
