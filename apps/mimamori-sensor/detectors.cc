// The table of detectors. The rule engine (net/rules) is the one detector so far; it reloads
// its rules on SIGHUP.

#include "detectors.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "mimamori/core/log.h"
#include "mimamori/net/rules/engine.h"

namespace mimamori::sensor {

namespace {

std::shared_ptr<net::rules::EngineSlot> g_rules;
net::rules::RuleSources g_sources;
net::rules::EngineOptions g_engine_options;
std::atomic<bool> g_reload{false};

extern "C" void on_sighup(int) { g_reload.store(true); }

// Rule files in Suricata's configuration style: `default-rule-path` + `rule-files`, unless -S
// names the only file; -s adds files.
std::vector<std::string> rule_files(const core::Config& config, const RuleOptions& rules) {
  std::vector<std::string> files;
  if (!rules.exclusive_file.empty()) {
    files.push_back(rules.exclusive_file);
  } else {
    std::filesystem::path dir = config.get<std::string>("default-rule-path", "");
    for (const auto& f : config.get<std::vector<std::string>>("rule-files", {})) {
      std::filesystem::path p(f);
      files.push_back((p.is_relative() && !dir.empty() ? dir / p : p).string());
    }
  }
  files.insert(files.end(), rules.files.begin(), rules.files.end());
  return files;
}

net::rules::EngineOptions engine_options(const core::Config& config) {
  net::rules::EngineOptions o;
  o.cache_dir = config.get<std::string>("detect.cache-dir", "");
  return o;
}

// Loads and compiles the rules; logs what was skipped. Errors are the caller's to report.
core::Result<std::shared_ptr<const net::rules::RuleEngine>> build_engine() {
  auto t0 = std::chrono::steady_clock::now();
  auto set = net::rules::load_rules(g_sources);
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
  auto engine = net::rules::RuleEngine::build(std::move(*set), g_engine_options);
  if (!engine) return engine.error();
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  spdlog::info("rules: {} of {} loaded, {} databases ({} from cache) in {} ms", loaded, enabled,
               (*engine)->stats().databases, (*engine)->stats().cache_hits, ms.count());
  return engine;
}

// Rebuilds the engine in the background on SIGHUP and swaps it in only when it built; the
// workers keep inspecting with the old one meanwhile.
void reload_loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (!g_reload.exchange(false)) continue;
    spdlog::info("SIGHUP: reloading rules");
    auto engine = build_engine();
    if (!engine) {
      spdlog::error("rule reload failed, the current rules stay in force: {}",
                    engine.error().message);
      continue;
    }
    g_rules->set(std::move(*engine));
    spdlog::info("rule reload done: the new rules are in force");
  }
}

std::jthread g_reloader;

}  // namespace

void prepare_detectors(const core::Config& config, const RuleOptions& rules) {
  auto files = rule_files(config, rules);
  if (files.empty()) return;
  g_sources = net::rules::RuleSources::from_config(config, files);
  g_engine_options = engine_options(config);
  auto engine = build_engine();
  if (!engine) throw core::ConfigError(engine.error().message);
  g_rules = std::make_shared<net::rules::EngineSlot>(std::move(*engine));
  struct sigaction sa {};
  sa.sa_handler = on_sighup;
  sa.sa_flags = SA_RESTART;  // a reload must not interrupt a blocking capture read
  sigemptyset(&sa.sa_mask);
  sigaction(SIGHUP, &sa, nullptr);
  g_reloader = std::jthread(reload_loop);
  // Stop the reloader before the logger and the other statics go away at exit.
  std::atexit([] {
    g_reloader.request_stop();
    if (g_reloader.joinable()) g_reloader.join();
  });
}

std::vector<std::unique_ptr<net::Detector>> make_detectors(int index) {
  (void)index;
  std::vector<std::unique_ptr<net::Detector>> out;
  if (g_rules)
    out.push_back(std::make_unique<net::rules::RuleDetector>(
        std::shared_ptr<const net::rules::EngineSlot>(g_rules)));
  return out;
}

int check_rules(const core::Config& config, const RuleOptions& rules, bool verbose) {
  auto set = net::rules::load_rules(
      net::rules::RuleSources::from_config(config, rule_files(config, rules)));
  if (!set) {
    spdlog::error("{}", set.error().message);
    return 1;
  }
  std::fputs(net::rules::describe_load(*set, verbose).c_str(), stdout);
  auto engine = net::rules::RuleEngine::build(std::move(*set), engine_options(config));
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

}  // namespace mimamori::sensor
