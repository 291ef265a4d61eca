#pragma once
/// `rules update`: fetch a ruleset archive (tar.gz, as ET Open ships it), verify it, unpack it
/// beside the rules folder, test-load it, and swap it in only if it loads. The folder in use is
/// never half-written: a failure at any step leaves it as it was.

#include <cstddef>
#include <string>

#include "mimamori/core/config.h"
#include "mimamori/core/result.h"

namespace mimamori::net::rules {

/// What `rules update` is told.
struct RulesUpdateOptions {
  std::string url;     ///< https://, http:// or file:// of a .tar.gz
  std::string output;  ///< the rules folder to replace (default: default-rule-path)
  std::string sha256;  ///< expected SHA-256 of the archive, hex (optional)
};

/// What an update installed.
struct RulesUpdateReport {
  std::size_t loaded = 0;      ///< rules that load
  std::size_t enabled = 0;     ///< enabled rules in the archive's rule files
  std::size_t rule_files = 0;  ///< .rules files installed
  std::string folder;          ///< the rules folder now in use
};

/// Runs the update. The error starts with the failing step ("options", "fetch", "verify",
/// "unpack", "test-load", "swap") and says why.
core::Result<RulesUpdateReport> update_rules(const core::Config& config,
                                             const RulesUpdateOptions& options);

}  // namespace mimamori::net::rules
