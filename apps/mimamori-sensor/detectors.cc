// The table of detectors. The rule engine (net/rules) is the one detector so far.

#include "detectors.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "mimamori/core/log.h"
#include "mimamori/net/rules/engine.h"

namespace mimamori::sensor {

namespace {

std::shared_ptr<const net::rules::RuleEngine> g_rules;

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

core::Result<net::rules::RuleSet> load(const core::Config& config, const RuleOptions& rules) {
  auto files = rule_files(config, rules);
  return net::rules::load_rule_files(files, config.get<std::string>("classification-file", ""),
                                     &config);
}

net::rules::EngineOptions engine_options(const core::Config& config) {
  net::rules::EngineOptions o;
  o.cache_dir = config.get<std::string>("detect.cache-dir", "");
  return o;
}

}  // namespace

void prepare_detectors(const core::Config& config, const RuleOptions& rules) {
  auto files = rule_files(config, rules);
  if (files.empty()) return;
  auto t0 = std::chrono::steady_clock::now();
  auto set = load(config, rules);
  if (!set) throw core::ConfigError(set.error().message);
  std::size_t loaded = set->signatures.size(), enabled = set->enabled;
  // Each skipped rule at debug level; one warning says how many (--rules-check lists why).
  for (const auto& s : set->skipped) {
    spdlog::debug("{}:{}: sid {} skipped: {}", s.file, s.line, s.sid, s.reason);
  }
  if (!set->skipped.empty()) {
    spdlog::warn("{} of {} rules skipped (unsupported or invalid); --rules-check lists why",
                 set->skipped.size(), set->enabled);
  }
  auto engine = net::rules::RuleEngine::build(std::move(*set), engine_options(config));
  if (!engine) throw core::ConfigError(engine.error().message);
  g_rules = std::move(*engine);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  spdlog::info("rules: {} of {} loaded, {} databases ({} from cache) in {} ms", loaded, enabled,
               g_rules->stats().databases, g_rules->stats().cache_hits, ms.count());
}

std::vector<std::unique_ptr<net::Detector>> make_detectors(int index) {
  (void)index;
  std::vector<std::unique_ptr<net::Detector>> out;
  if (g_rules) out.push_back(std::make_unique<net::rules::RuleDetector>(g_rules));
  return out;
}

int check_rules(const core::Config& config, const RuleOptions& rules, bool verbose) {
  auto set = load(config, rules);
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
