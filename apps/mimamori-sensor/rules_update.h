#pragma once
// `mimamori-sensor rules update`: fetch, verify, unpack, test-load and swap a ruleset archive.

#include <string>

#include "mimamori/core/config.h"

namespace mimamori::sensor {

/// What `rules update` is told.
struct RulesUpdateOptions {
  std::string url;     ///< https://, http:// or file:// of a .tar.gz
  std::string output;  ///< the rules folder to replace (default: default-rule-path)
  std::string sha256;  ///< expected SHA-256 of the archive, hex (optional)
};

/// Runs the update; prints the outcome, logs the failing step. Returns the exit code.
int rules_update(const core::Config& config, const RulesUpdateOptions& options);

}  // namespace mimamori::sensor
