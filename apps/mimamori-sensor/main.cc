// mimamori-sensor: network monitoring at the customer's gateway. main() only wires modules.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <map>

#include "mimamori/core/config.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/log.h"
#include "mimamori/net/capture.h"
#include "mimamori/net/rules/engine.h"
#include "mimamori/net/rules/loader.h"

namespace {

using namespace mimamori;

int run(const std::string& pcap, const std::string& log_dir) {
  auto file = net::PcapFile::open(pcap);
  if (!file) {
    spdlog::error("{}", file.error().message);
    return 1;
  }
  uint64_t packets = 0, bytes = 0;
  core::Timestamp first{}, last{};
  net::RawPacket pkt;
  while (true) {
    auto more = file->next(pkt);
    if (!more) {
      spdlog::error("{} (after packet {})", more.error().message, packets);
      break;
    }
    if (!*more) break;
    if (packets == 0) first = pkt.timestamp;
    last = pkt.timestamp;
    ++packets;
    bytes += pkt.wire_length;
  }
  core::Event stats;
  stats.timestamp = last;
  stats.event_type = core::event_type::kStats;
  stats.fields.begin_object("stats")
      .add("uptime", (last.micros - first.micros) / 1000000)
      .begin_object("decoder")
      .add("pkts", packets)
      .add("bytes", bytes)
      .end()
      .end();
  std::string line = core::to_eve(stats) + "\n";
  std::string eve_path = log_dir + "/eve.json";
  std::ofstream out(eve_path, std::ios::app);
  if (!out) {
    spdlog::error("cannot write '{}'", eve_path);
    return 1;
  }
  out << line;
  std::printf("%s: %llu packets, %llu bytes, %s .. %s (JST)\n", pcap.c_str(),
              static_cast<unsigned long long>(packets), static_cast<unsigned long long>(bytes),
              core::format_local(first).c_str(), core::format_local(last).c_str());
  std::printf("wrote %s\n", eve_path.c_str());
  return 0;
}

// --rules-check: load the rules, print how many load and why the others do not.
int rules_check(const std::vector<std::string>& files, const std::string& classification,
                const std::string& cache_dir, bool verbose) {
  auto set = net::rules::load_rule_files(files, classification, nullptr);
  if (!set) {
    spdlog::error("{}", set.error().message);
    return 1;
  }
  std::fputs(net::rules::describe_load(*set, verbose).c_str(), stdout);
  auto engine = net::rules::RuleEngine::build(std::move(*set), {cache_dir});
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mimamori-sensor: network monitoring for the Otasuketai service"};
  std::string pcap, log_dir = ".", level = "info";
  app.add_option("-r,--read", pcap, "pcap or pcapng file to read ('-' for stdin)");
  std::vector<std::string> rule_files;
  std::string classification;
  bool check_rules = false, verbose_rules = false;
  app.add_option("-S,-s,--rules", rule_files, "rule file(s) to load (Suricata syntax)");
  app.add_option("--classification", classification, "classification.config for the rules");
  std::string rule_cache;
  app.add_option("--rule-cache", rule_cache, "folder for compiled rule databases (cache)");
  app.add_flag("--rules-check", check_rules, "load the rules, report what loads and why not, exit");
  app.add_flag("--rules-verbose", verbose_rules, "with --rules-check: list every skipped rule");
  app.add_option("-l,--log-dir", log_dir, "directory for eve.json")->check(CLI::ExistingDirectory);
  app.add_option("--log-level", level, "trace, debug, info, warn, error");
  app.set_version_flag("-V,--version", "mimamori-sensor 0.1.0");
  CLI11_PARSE(app, argc, argv);
  mimamori::core::init_logging("mimamori-sensor", level);
  try {
    if (check_rules) return rules_check(rule_files, classification, rule_cache, verbose_rules);
    if (pcap.empty()) {
      spdlog::error("nothing to do: give -r FILE (or --rules-check -S FILES)");
      return 2;
    }
    return run(pcap, log_dir);
  } catch (const mimamori::core::ConfigError& e) {
    spdlog::error("{}", e.what());
    return 2;
  }
}
