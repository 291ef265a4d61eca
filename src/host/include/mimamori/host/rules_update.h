#pragma once
/// `mimamori-agent rules update --url`: fetches a rule archive (tar.gz) a provider chooses —
/// SigmaHQ's linux rules or a YARA set — verifies it, unpacks its rule files beside the folder
/// in use, test-loads them as the agent would, and swaps the folders only if they load. A
/// failure at any step leaves the folder in use as it was.

#include <cstddef>
#include <string>

#include "mimamori/core/config.h"
#include "mimamori/core/result.h"

namespace mimamori::host {

struct AgentRulesUpdateOptions {
  std::string url;     ///< https://, http:// or file:// of a .tar.gz
  std::string kind;    ///< "yara" or "sigma"; empty: what the archive holds
  std::string output;  ///< folder to replace (default: yara.rules_dir / <state_dir>/sigma)
  std::string sha256;  ///< expected SHA-256 of the archive, hex (optional)
};

struct AgentRulesUpdateReport {
  std::string kind;
  std::size_t files = 0;    ///< rule files installed
  std::size_t skipped = 0;  ///< rule files of the archive that did not load (left out)
  std::size_t usable = 0;   ///< YARA: files; Sigma: linux process_creation rules
  std::string folder;
};

/// Runs the update. The error starts with the failing step ("options", "fetch", "verify",
/// "unpack", "test-load", "swap") and says why.
core::Result<AgentRulesUpdateReport> update_agent_rules(const core::Config& config,
                                                        const AgentRulesUpdateOptions& options);

}  // namespace mimamori::host
