#pragma once
/// RuleService: the sensor's rules in force. Loads and compiles them once at start, hands each
/// worker a detector that follows the engine in force, and reloads on request (SIGHUP, the
/// control socket): a new engine is built beside the old one and swapped in only when it built
/// and holds at least one rule; the workers keep inspecting with the old one meanwhile.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mimamori/core/config.h"
#include "mimamori/net/detect.h"
#include "mimamori/net/rules/engine.h"
#include "mimamori/net/rules/loader.h"

namespace mimamori::net::rules {

/// What the command line says about rule files.
struct RuleFileOptions {
  std::string exclusive_file;      ///< -S: only this file
  std::vector<std::string> files;  ///< -s: in addition to the configured ones
  bool any() const { return !exclusive_file.empty() || !files.empty(); }
};

/// Rule files in Suricata's configuration style: `default-rule-path` + `rule-files`, unless
/// `-S` names the only file; `-s` adds files.
std::vector<std::string> rule_files(const core::Config& config, const RuleFileOptions& options);

/// Engine options from `detect.cache-dir`, `action-order` and `packet-alert-max`; throws
/// core::ConfigError on a bad `action-order`.
EngineOptions engine_options(const core::Config& config);

/// The rules in force and their reloads.
class RuleService {
 public:
  /// Loads and compiles the configured rules (on a thread of its own); no rule file configured
  /// gives a service without rules. Throws core::ConfigError on a start-up error.
  RuleService(const core::Config& config, const RuleFileOptions& options);
  /// Stops the reload thread.
  ~RuleService();
  RuleService(const RuleService&) = delete;
  RuleService& operator=(const RuleService&) = delete;

  /// True when rules are loaded (a rule file was configured).
  bool loaded() const { return slot_ != nullptr; }
  /// Worker `index`'s detectors, in the order they run: the rule engine when rules are loaded.
  std::vector<std::unique_ptr<Detector>> make_detectors(int index) const;

  /// Rebuilds the engine now and swaps it in when it built; `why` goes to the log. Returns
  /// "ok: N rules in force" or "error: ..." (the answer of the control socket).
  std::string reload(std::string_view why);
  /// Runs one control command ("reload-rules") and returns its answer line.
  std::string command(std::string_view command);
  /// Asks the reload thread to reload soon; async-signal-safe (for a SIGHUP handler).
  void request_reload() { reload_requested_.store(true); }
  /// Starts the thread that serves request_reload() (only when rules are loaded).
  void start_reload_thread();

 private:
  core::Result<std::shared_ptr<const RuleEngine>> build_engine();

  RuleSources sources_;
  EngineOptions engine_options_;
  std::shared_ptr<EngineSlot> slot_;
  std::atomic<bool> reload_requested_{false};
  std::mutex reload_mutex_;  // one reload at a time (SIGHUP and control commands)
  std::jthread reloader_;
};

/// `--rules-check`: loads the rules, prints how many load, why the others do not, and the
/// compiled engine's figures. Returns the exit code.
int check_rules(const core::Config& config, const RuleFileOptions& options, bool verbose);

}  // namespace mimamori::net::rules
