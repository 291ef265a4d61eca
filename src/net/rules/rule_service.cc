// The rules in force for the sensor's workers, and their reloads (SIGHUP, control socket).

#include "mimamori/net/rules/rule_service.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "mimamori/core/log.h"

namespace mimamori::net::rules {

std::vector<std::string> rule_files(const core::Config& config, const RuleFileOptions& options) {
  std::vector<std::string> files;
  if (!options.exclusive_file.empty()) {
    files.push_back(options.exclusive_file);
  } else {
    std::filesystem::path dir = config.get<std::string>("default-rule-path", "");
    for (const auto& f : config.get<std::vector<std::string>>("rule-files", {})) {
      std::filesystem::path p(f);
      files.push_back((p.is_relative() && !dir.empty() ? dir / p : p).string());
    }
  }
  files.insert(files.end(), options.files.begin(), options.files.end());
  return files;
}

EngineOptions engine_options(const core::Config& config) {
  EngineOptions o;
  o.cache_dir = config.get<std::string>("detect.cache-dir", "");
  // Suricata's `action-order`: a YAML list, or (as --set gives it) "drop,pass,reject,alert".
  std::vector<std::string> order = config.list("action-order", {});
  // As Suricata: an out-of-range value falls back to the default, with a warning.
  auto alert_max = config.get<unsigned>("packet-alert-max", o.packet_alert_max);
  if (alert_max == 0 || alert_max > 256) {
    spdlog::warn("packet-alert-max: {} is not within 1 to 256; using {}", alert_max,
                 o.packet_alert_max);
  } else {
    o.packet_alert_max = alert_max;
  }
  if (!order.empty()) {
    auto rank = parse_action_order(order);
    if (!rank) throw core::ConfigError(rank.error().message);
    o.action_rank = *rank;
  }
  return o;
}

RuleService::RuleService(const core::Config& config, const RuleFileOptions& options) {
  auto files = rule_files(config, options);
  if (files.empty()) return;
  sources_ = RuleSources::from_config(config, files);
  engine_options_ = engine_options(config);
  // Built on a thread of its own: the build's many allocations stay in that thread's malloc
  // arena, so they do not fragment the arena the packet path allocates from.
  core::Result<std::shared_ptr<const RuleEngine>> engine = core::make_error("rules: not built");
  std::thread([this, &engine] { engine = build_engine(); }).join();
  if (!engine) throw core::ConfigError(engine.error().message);
  slot_ = std::make_shared<EngineSlot>(std::move(*engine));
}

RuleService::~RuleService() {
  reloader_.request_stop();
  if (reloader_.joinable()) reloader_.join();
}

// Loads and compiles the rules; logs what was skipped. Errors are the caller's to report.
core::Result<std::shared_ptr<const RuleEngine>> RuleService::build_engine() {
  auto t0 = std::chrono::steady_clock::now();
  auto set = load_rules(sources_);
  if (!set) return set.error();
  std::size_t loaded = set->signatures.size(), enabled = set->enabled;
  // Each skipped rule at debug level; one warning says how many (--rules-check lists why).
  for (const auto& s : set->skipped) {
    spdlog::debug("{}:{}: sid {} skipped: {}", s.file, s.line, s.sid, s.reason);
  }
  if (!set->skipped.empty()) {
    spdlog::warn("{} of {} rules skipped (unsupported or invalid); --rules-check lists why",
                 set->skipped.size(), set->enabled);
  }
  auto engine = RuleEngine::build(std::move(*set), engine_options_);
  if (!engine) return engine.error();
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  spdlog::info("rules: {} of {} loaded, {} databases ({} from cache) in {} ms", loaded, enabled,
               (*engine)->stats().databases, (*engine)->stats().cache_hits, ms.count());
  return engine;
}

std::string RuleService::reload(std::string_view why) {
  std::lock_guard lock(reload_mutex_);
  spdlog::info("{}: reloading rules", why);
  auto engine = build_engine();
  if (!engine) {
    std::string msg =
        "rule reload failed, the current rules stay in force: " + engine.error().message;
    spdlog::error("{}", msg);
    return "error: " + msg;
  }
  std::size_t n = (*engine)->signatures().size();
  if (n == 0) {
    // Every rule skipped: a broken file rather than an intended empty ruleset.
    std::string msg = "rule reload failed, the current rules stay in force: no rule loads";
    spdlog::error("{}", msg);
    return "error: " + msg;
  }
  slot_->set(std::move(*engine));
  spdlog::info("rule reload done: the new rules are in force");
  return "ok: " + std::to_string(n) + " rules in force";
}

std::string RuleService::command(std::string_view cmd) {
  if (cmd == "reload-rules")
    return loaded() ? reload("control command") : "error: no rules are loaded";
  return "error: unknown command '" + std::string(cmd) + "' (known: reload-rules)";
}

void RuleService::start_reload_thread() {
  if (!loaded()) return;
  reloader_ = std::jthread([this](std::stop_token stop) {
    while (!stop.stop_requested()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (reload_requested_.exchange(false)) (void)reload("SIGHUP");
    }
  });
}

std::vector<std::unique_ptr<Detector>> RuleService::make_detectors(int index) const {
  (void)index;
  std::vector<std::unique_ptr<Detector>> out;
  if (slot_)
    out.push_back(std::make_unique<RuleDetector>(std::shared_ptr<const EngineSlot>(slot_)));
  return out;
}

int check_rules(const core::Config& config, const RuleFileOptions& options, bool verbose) {
  auto set = load_rules(RuleSources::from_config(config, rule_files(config, options)));
  if (!set) {
    spdlog::error("{}", set.error().message);
    return 1;
  }
  std::fputs(describe_load(*set, verbose).c_str(), stdout);
  auto engine = RuleEngine::build(std::move(*set), engine_options(config));
  if (!engine) {
    spdlog::error("{}", engine.error().message);
    return 1;
  }
  const auto& st = (*engine)->stats();
  std::printf(
      "engine: %zu rules (%zu prefiltered, %zu without fast pattern, %zu ip-only), "
      "%zu databases (%zu from cache)\n",
      st.rules, st.prefiltered, st.always, st.ip_only, st.databases, st.cache_hits);
  return st.rules == 0 ? 1 : 0;
}

}  // namespace mimamori::net::rules
