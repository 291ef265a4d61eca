#pragma once
// The sensor's detectors, listed explicitly (no self-registration). One set per worker.

#include <memory>
#include <string>
#include <vector>

#include "mimamori/core/config.h"
#include "mimamori/net/detect.h"

namespace mimamori::sensor {

/// What the command line says about rules.
struct RuleOptions {
  std::string exclusive_file;      ///< -S: only this file
  std::vector<std::string> files;  ///< -s: in addition to the configured ones
  bool any() const { return !exclusive_file.empty() || !files.empty(); }
};

/// A list setting given as a YAML list or, as `--set` gives it, one string ("a,b" or
/// "[a, b]"): the items, trimmed. Throws core::ConfigError naming `key` on an empty item.
std::vector<std::string> config_list(const core::Config& config, const std::string& key,
                                     const std::vector<std::string>& defaults);

/// Loads what every worker shares (compiled rules, ...) once; throws core::ConfigError on a
/// start-up error.
void prepare_detectors(const core::Config& config, const RuleOptions& rules);

/// `--rules-check`: loads the rules, prints how many load, why the others do not, and the
/// compiled engine's figures. Returns the exit code.
int check_rules(const core::Config& config, const RuleOptions& rules, bool verbose);

/// Serves control commands ("reload-rules") on a unix socket at `path` while the sensor runs;
/// throws core::ConfigError when it cannot listen.
void start_control(const std::string& path);

/// Sends `command` to a running sensor's control socket and prints its answer. Exit code.
int send_control(const std::string& path, const std::string& command);

/// Worker `index`'s detector instances, in the order they run.
std::vector<std::unique_ptr<net::Detector>> make_detectors(int index);

}  // namespace mimamori::sensor
