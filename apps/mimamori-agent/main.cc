// mimamori-agent: endpoint monitoring of a PC or server. main() only wires modules.

#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "mimamori/core/config.h"
#include "mimamori/core/log.h"
#include "mimamori/host/collector.h"
#include "mimamori/host/rules_update.h"
#include "mimamori/uplink/spool.h"
#include "mimamori/uplink/uplink.h"
#include "sinks.h"
#include "stats.h"

namespace {

using namespace mimamori;
namespace fs = std::filesystem;

constexpr const char* kVersion = "0.1.0";
std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

// Where run_collectors writes its counters (for `mimamori-agent stats`).
struct StatsTarget {
  fs::path path;
  std::chrono::seconds interval{10};
  const uplink::Spool* spool = nullptr;
  const uplink::Uplink* up = nullptr;
};

template <class Sink>
void run_collectors(std::vector<std::unique_ptr<host::Collector>>& collectors, Sink& sink,
                    std::chrono::milliseconds interval, double run_for_s,
                    const StatsTarget& stats) {
  // Each collector gets its own counting view of the sink, so its events can be told apart.
  std::vector<std::unique_ptr<agent::CountingSink>> counted;
  std::vector<std::pair<host::Collector*, agent::CountingSink*>> live;
  for (auto& c : collectors) {
    counted.push_back(std::make_unique<agent::CountingSink>(sink, std::string(c->name())));
    auto* view = counted.back().get();
    if (auto st = c->start(*view); !st) {
      spdlog::warn("{}: disabled: {}", c->name(), st.error().message);
      view->enabled = false;
      continue;
    }
    live.emplace_back(c.get(), view);
  }
  sink.flush();
  // Start-up (rule compilers, baselines, the first inventory) frees much of what it used; hand
  // those pages back so the idle footprint is what the agent keeps, not what it once needed.
  for (auto [c, view] : live) c->poll(*view);
  sink.flush();
  ::malloc_trim(0);
  spdlog::info("agent running with {} collectors", live.size());
  auto start = std::chrono::steady_clock::now();
  auto next_trim = start + std::chrono::minutes(10);
  auto next_stats = start;
  auto uptime = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  while (!g_stop.load()) {
    for (auto [c, view] : live) c->poll(*view);
    sink.flush();
    auto now = std::chrono::steady_clock::now();
    if (now >= next_stats) {
      agent::write_stats(stats.path, uptime(), counted, stats.spool, stats.up);
      next_stats = now + stats.interval;
    }
    if (now >= next_trim) {
      ::malloc_trim(0);
      next_trim += std::chrono::minutes(10);
    }
    if (run_for_s > 0 && now - start >= std::chrono::duration<double>(run_for_s)) break;
    // Sleep in one piece (signals interrupt it), so that an idle agent wakes rarely.
    struct timespec ts {
      static_cast<time_t>(interval.count() / 1000),
          static_cast<long>(interval.count() % 1000) * 1000000
    };
    ::nanosleep(&ts, nullptr);
  }
  for (auto [c, view] : live) c->stop();
  sink.flush();
  agent::write_stats(stats.path, uptime(), counted, stats.spool, stats.up);
}

int do_run(const std::string& config_file, const std::vector<std::string>& sets,
           const std::string& eve, double run_for_s) {
  core::Config cfg = config_file.empty() ? core::Config::from_string("{}", "<defaults>")
                                         : core::Config::load_file(config_file);
  for (const auto& s : sets) cfg.set(s);
  fs::path state = cfg.get<std::string>("agent.state_dir", "/var/lib/mimamori-agent");
  std::error_code ec;
  fs::create_directories(state, ec);
  if (ec) {
    spdlog::error("cannot create state directory '{}': {}", state.string(), ec.message());
    return 1;
  }
  if (!host::this_host().root)
    spdlog::warn(
        "not running as root: fanotify (who changed a file, ransomware stop), the process "
        "connector and root-only logs are unavailable; collectors fall back where they can");
  auto interval = std::chrono::milliseconds(cfg.get<int64_t>("agent.poll_interval_ms", 1000));
  auto collectors = host::make_collectors(cfg);
  StatsTarget stats;
  stats.path = agent::stats_path(state);
  stats.interval = std::chrono::seconds(cfg.get<int64_t>("agent.stats_interval_s", 10));
  if (stats.interval.count() < 1)
    throw core::ConfigError("agent.stats_interval_s: expected at least 1 second");

  if (!eve.empty()) {
    FILE* out = eve == "-" ? stdout : std::fopen(eve.c_str(), "a");
    if (!out) {
      spdlog::error("cannot open '{}' for writing: {}", eve, std::strerror(errno));
      return 1;
    }
    agent::EveFileSink sink(out, state / "eve-checkpoints");
    run_collectors(collectors, sink, interval, run_for_s, stats);
    spdlog::info("wrote {} events to {}", sink.emitted(), eve);
    if (out != stdout) std::fclose(out);
    return 0;
  }

  auto cred = uplink::load_credential(
      cfg.get<std::string>("agent.credential", "/etc/mimamori/agent.credential"));
  if (!cred) {
    spdlog::error("{} (or use --eve FILE for offline use)", cred.error().message);
    return 1;
  }
  uplink::SpoolOptions so;
  so.dir = state / "spool";
  so.max_bytes = cfg.get<uint64_t>("spool.max_mb", 256) << 20;
  auto spool = uplink::Spool::open(so);
  if (!spool) {
    spdlog::error("{}", spool.error().message);
    return 1;
  }
  uplink::Uplink up(*cred, **spool, uplink::options_from_config(cfg, kVersion));
  // The server's configuration is cached beside the state; its threat list becomes the file
  // the network collector reads (and reloads when it changes).
  std::string threat_file =
      cfg.get<std::string>("network.threat_list", (state / "threat-list.txt").string());
  std::string hash_file =
      cfg.get<std::string>("yara.hash_list", (state / "threat-hashes.txt").string());
  up.on_config([state, threat_file, hash_file](const std::string& yaml) {
    std::string tmp = (state / "server-config.yaml.tmp").string();
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fwrite(yaml.data(), 1, yaml.size(), f);
      std::fclose(f);
      std::rename(tmp.c_str(), (state / "server-config.yaml").c_str());
    }
    try {
      auto server_cfg = core::Config::from_string(yaml, "server configuration");
      auto list = server_cfg.get<std::vector<std::string>>("threat_list", {});
      std::string text = "# threat list from mimamori-server\n";
      for (const auto& a : list) text += a + "\n";
      std::string ttmp = threat_file + ".tmp";
      if (FILE* f = std::fopen(ttmp.c_str(), "w")) {
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
        std::rename(ttmp.c_str(), threat_file.c_str());
      }
      // Known-bad file hashes (`threat_hashes`) become the list the YARA collector checks.
      auto hashes = server_cfg.get<std::vector<std::string>>("threat_hashes", {});
      std::string htext = "# known-bad SHA-256 hashes from mimamori-server\n";
      // SHA-256 only: the scan hashes files with it (MD5 indicators are for the sensor).
      for (const auto& h : hashes)
        if (h.size() == 64) htext += h + "\n";
      std::string htmp = hash_file + ".tmp";
      if (FILE* f = std::fopen(htmp.c_str(), "w")) {
        std::fwrite(htext.data(), 1, htext.size(), f);
        std::fclose(f);
        std::rename(htmp.c_str(), hash_file.c_str());
      }
      spdlog::info("configuration from the server: {} threat-list entries, {} file hashes",
                   list.size(), hashes.size());
    } catch (const core::ConfigError& e) {
      spdlog::warn("configuration from the server not usable: {}", e.what());
    }
  });
  agent::SpoolEvents sink(**spool, up);
  std::atomic<bool> uplink_stop{false};
  std::thread sender([&] { up.run(uplink_stop); });
  stats.spool = spool->get();
  stats.up = &up;
  run_collectors(collectors, sink, interval, run_for_s, stats);
  uplink_stop.store(true);
  up.notify();
  sender.join();
  auto s = (*spool)->stats();
  spdlog::info("stopped: {} events emitted, spool depth {}, dropped {}", sink.emitted(), s.depth,
               s.dropped);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mimamori-agent: endpoint monitoring for the Otasuketai service"};
  app.set_version_flag("-V,--version", std::string("mimamori-agent ") + kVersion);
  std::string config_file, eve, level = "info";
  std::vector<std::string> sets;
  double run_for = 0;
  app.add_option("-c,--config", config_file, "YAML configuration file")->check(CLI::ExistingFile);
  app.add_option("--set", sets, "override a configuration key: key=value");
  app.add_option("--eve", eve, "write events to this EVE file instead of the server ('-': stdout)");
  app.add_option("--run-for", run_for, "stop after this many seconds (0: run until signalled)");
  app.add_option("--log-level", level, "trace, debug, info, warn, error");

  auto* enroll = app.add_subcommand("enroll", "enroll this machine with a mimamori-server");
  std::string server, code, fingerprint, credential = "/etc/mimamori/agent.credential";
  enroll->add_option("--server", server, "server address, https://host:port")->required();
  enroll->add_option("--code", code, "enrollment code from the server")->required();
  enroll->add_option("--fingerprint", fingerprint,
                     "expected SHA-256 fingerprint of the server's certificate");
  enroll->add_option("--credential", credential, "where to store the credential (mode 0600)");
  auto* stats_cmd = app.add_subcommand(
      "stats", "print the running agent's counters (events per collector, spool, uplink)");
  stats_cmd->fallthrough();
  auto* rules_cmd = app.add_subcommand("rules", "detection content (YARA and Sigma rules)");
  rules_cmd->fallthrough();
  auto* update = rules_cmd->add_subcommand("update",
                                           "fetch a YARA or Sigma rule archive (.tar.gz), "
                                           "test-load it, and install it only if it loads");
  host::AgentRulesUpdateOptions uo;
  update->add_option("--url", uo.url, "https://, http:// or file:// of the .tar.gz")->required();
  update->add_option("--kind", uo.kind, "yara or sigma (default: what the archive holds)");
  update->add_option("--output", uo.output,
                     "folder to replace (default: yara.rules_dir, or <state_dir>/sigma)");
  update->add_option("--sha256", uo.sha256, "expected SHA-256 of the archive (hex)");
  update->fallthrough();
  rules_cmd->require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  core::init_logging("mimamori-agent", level);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    if (*enroll) {
      uplink::EnrollRequest req;
      req.server_url = server;
      req.code = code;
      req.kind = "agent";
      req.version = kVersion;
      req.fingerprint = fingerprint;
      return uplink::enroll_command(req, credential);
    }
    if (*update) {
      core::Config cfg = config_file.empty() ? core::Config::from_string("{}", "<defaults>")
                                             : core::Config::load_file(config_file);
      for (const auto& s : sets) cfg.set(s);
      auto r = host::update_agent_rules(cfg, uo);
      if (!r) {
        spdlog::error("rules update: {}; the installed rules are unchanged", r.error().message);
        return 1;
      }
      std::printf(
          "rules update: %zu %s rule files installed in %s (%zu left out: they do not load); %zu "
          "%s\n",
          r->files, r->kind.c_str(), r->folder.c_str(), r->skipped, r->usable,
          r->kind == "yara" ? "usable files" : "linux process_creation rules");
      return 0;
    }
    if (*stats_cmd) {
      core::Config cfg = config_file.empty() ? core::Config::from_string("{}", "<defaults>")
                                             : core::Config::load_file(config_file);
      for (const auto& s : sets) cfg.set(s);
      return agent::print_stats(cfg.get<std::string>("agent.state_dir", "/var/lib/mimamori-agent"));
    }
    return do_run(config_file, sets, eve, run_for);
  } catch (const core::ConfigError& e) {
    spdlog::error("{}", e.what());
    return 2;
  }
}
