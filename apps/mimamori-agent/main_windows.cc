// mimamori-agent for Windows: the event logs (EvtSubscribe, or EVTX files with --replay) matched
// against Sigma rules; alerts into the durable spool and from there to the server over WinHTTP.
// main() only wires modules (docs/windows.md).

#include <windows.h>
// After windows.h, which they need:
#include <fcntl.h>
#include <io.h>
#include <shellapi.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "delivery_windows.h"
#include "mimamori/core/config.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/log.h"
#include "mimamori/host/collector.h"
#include "mimamori/host/event_log.h"
#include "mimamori/host/windows_collectors.h"
#include "mimamori/sigma/rules.h"
#include "mimamori/uplink/spool.h"
#include "mimamori/uplink/uplink.h"
#include "paths_windows.h"
#include "service_windows.h"
#include "stop_windows.h"

namespace {

using namespace mimamori;
using namespace mimamori::agent;
namespace fs = std::filesystem;

constexpr const char* kVersion = "0.1.0";
std::atomic<bool> g_stop{false};

BOOL WINAPI on_console_event(DWORD) {
  g_stop.store(true);
  signal_stop();
  return TRUE;
}

struct RunOptions {
  std::string config_file;
  std::vector<std::string> sets;
  std::vector<std::string> replay;
  bool once = false;
  double run_for_s = 0;  ///< stop after this long (0: until stopped)
};

int run_agent(const RunOptions& o) {
  core::Config cfg = load_config(o.config_file, o.sets);
  fs::path state = u8path(cfg.get<std::string>("agent.state_dir", default_state_dir()));
  std::error_code ec;
  fs::create_directories(state, ec);
  if (ec) {
    spdlog::error("cannot create state directory '{}': {}", u8(state), ec.message());
    return 1;
  }
  auto interval = std::chrono::milliseconds(cfg.get<int64_t>("agent.poll_interval_ms", 1000));

  // Sigma rules: eventlog.sigma_rules, else what is installed in <state>\sigma.
  std::vector<std::string> rule_paths;
  if (fs::is_directory(state / "sigma", ec)) rule_paths.push_back(u8(state / "sigma"));
  rule_paths = cfg.get<std::vector<std::string>>("eventlog.sigma_rules", rule_paths);
  sigma::RuleSet rules;
  for (const auto& p : rule_paths) rules.load_path(u8(u8path(p)));
  if (auto st = rules.compile(); !st) {
    spdlog::error("eventlog.sigma_rules: {}", st.error().message);
    return 1;
  }
  for (const auto& e : rules.errors()) spdlog::debug("sigma: {}: {}", e.file, e.reason);
  spdlog::info("{} Sigma rules loaded from {} files ({} not loadable)", rules.rules().size(),
               rules.files_seen(), rules.errors().size());
  if (rules.rules().empty())
    spdlog::warn("no Sigma rules: set eventlog.sigma_rules or install rules in '{}'",
                 u8(state / "sigma"));

  uplink::SpoolOptions so;
  so.dir = state / "spool";
  so.max_bytes = cfg.get<uint64_t>("spool.max_mb", 256) << 20;
  auto spool = uplink::Spool::open(so);
  if (!spool) {
    spdlog::error("{}", spool.error().message);
    return 1;
  }

  // Bookmarks advance as the server acknowledges (delivery_windows.h).
  AgentSink sink(**spool, o.once);
  // The uplink when enrolled; without a credential the alerts wait in the spool.
  std::string cred_path = cfg.get<std::string>("agent.credential", u8(state / "agent.credential"));
  auto cred = uplink::load_credential(u8path(cred_path));
  std::unique_ptr<uplink::Uplink> up;
  if (cred) {
    auto uo = uplink::options_from_config(cfg, kVersion);
    uo.before_ack = [&sink](uint64_t seq) { sink.acked(seq); };
    up = std::make_unique<uplink::Uplink>(*cred, **spool, std::move(uo));
  } else {
    spdlog::warn("{}: alerts are kept in the spool until the agent is enrolled",
                 cred.error().message);
  }

  host::EventLogBookmarks marks = sink.resume();
  core::Result<std::unique_ptr<host::EventLogSource>> source = core::make_error("no source");
  // EVTX files instead of the live logs: --replay, or eventlog.replay (a service's tests).
  std::vector<std::string> replay = o.replay;
  if (replay.empty()) replay = cfg.get<std::vector<std::string>>("eventlog.replay", {});
  if (!replay.empty()) {
    source = host::open_replay_source(replay, marks);
  } else {
    auto channels = cfg.get<std::vector<std::string>>(
        "eventlog.channels",
        {"Security", "System", "Microsoft-Windows-PowerShell/Operational",
         "Microsoft-Windows-Windows Defender/Operational", "Microsoft-Windows-Sysmon/Operational"});
    // A channel that is missing here (no Sysmon) is left out with a warning, not fatal.
    std::vector<std::string> usable;
    for (const auto& ch : channels) {
      auto one = host::open_wevt_source({ch}, marks);
      if (one)
        usable.push_back(ch);
      else
        spdlog::warn("{}; left out", one.error().message);
    }
    if (usable.empty()) {
      spdlog::error("no event log could be subscribed");
      return 1;
    }
    source = host::open_wevt_source(usable, marks, stop_event());
  }
  if (!source) {
    spdlog::error("{}", source.error().message);
    return 1;
  }
  host::EventLogAlerts alerts(**source, rules, uplink::host_name());
  // A gap in a log's record ids is an alert (a replayed export may hold a selection: off).
  if (cfg.get<bool>("eventlog.report_gaps", replay.empty())) alerts.report_gaps(marks);
  // Brute force, persistence, ransomware, Downloads (docs/windows.md).
  host::WindowsCollectors collectors(cfg, u8(state), alerts);
  collectors.start(sink);

  std::atomic<bool> uplink_stop{false};
  std::thread sender;
  if (up) sender = std::thread([&] { up->run(uplink_stop); });
  spdlog::info("agent running ({})", replay.empty() ? "event logs" : "replay");
  int rc = 0;
  auto started = std::chrono::steady_clock::now();
  // Idle, the loop sleeps in a wait that a stop ends: on the subscription's signals (live logs,
  // a minute at a time), or on the stop alone once a replay is done; --run-for bounds both.
  auto left = [&] {
    if (o.run_for_s <= 0) return std::chrono::milliseconds(std::chrono::hours(24));
    auto end = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(o.run_for_s));
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(end - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration{}));
  };
  while (!g_stop.load()) {
    if (left().count() <= 0) break;
    auto wait = replay.empty()
                    ? std::min(left(), std::max(interval, std::chrono::milliseconds(60'000)))
                    : interval;
    if (!collectors.empty()) wait = std::min(wait, interval);  // they are polled, not waited on
    auto n = alerts.poll(sink, 512, wait);
    if (!n) spdlog::warn("{}", n.error().message);
    collectors.poll(sink);
    sink.flush(up.get());
    if (o.once && (*source)->finished() && (!n || *n == 0)) break;
    if (!replay.empty() && (!n || *n == 0))
      wait_for_stop((*source)->finished() && collectors.empty() ? left() : interval);
  }
  // --once: wait (a bounded time) for the server to acknowledge what was spooled.
  if (o.once && up) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::seconds(cfg.get<int64_t>("agent.once_timeout_s", 30));
    while ((*spool)->stats().depth > 0 && std::chrono::steady_clock::now() < deadline &&
           !g_stop.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if ((*spool)->stats().depth > 0) {
      spdlog::error("{} alerts not acknowledged by the server in time; they stay in the spool",
                    (*spool)->stats().depth);
      rc = 3;
    }
  }
  collectors.stop();
  uplink_stop.store(true);
  if (up) {
    up->notify();
    sender.join();
  }
  const auto& s = alerts.stats();
  auto ss = (*spool)->stats();
  spdlog::info(
      "stopped: {} records read, {} alerts ({} already spooled or sent), {} gaps, {} unreadable; "
      "spool depth {}, dropped {}",
      s.records, s.alerts, sink.skipped(), s.gaps, s.bad_records, ss.depth, ss.dropped);
  return rc;
}

}  // namespace

int main() {
  std::vector<std::string> args = command_line_args();
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  _setmode(_fileno(stdout), _O_BINARY);  // EVE lines end in \n, not \r\n

  CLI::App app{"mimamori-agent: endpoint monitoring for the Otasuketai service (Windows)"};
  app.set_version_flag("-V,--version", std::string("mimamori-agent ") + kVersion);
  RunOptions ro;
  std::string level = "info";
  app.add_option("-c,--config", ro.config_file, "YAML configuration file");
  app.add_option("--set", ro.sets, "override a configuration key: key=value");
  app.add_option("--replay", ro.replay,
                 "read these EVTX files or folders instead of the live event logs");
  app.add_flag("--once", ro.once,
               "stop when the replay is done and the server has acknowledged the alerts; print "
               "the alerts as EVE lines");
  app.add_option("--log-level", level, "trace, debug, info, warn, error");
  app.add_option("--run-for", ro.run_for_s, "stop after this many seconds (0: until stopped)");
  bool as_service = false;
  app.add_flag("--service", as_service, "run as the Windows service (started by the SCM)");
  auto* install = app.add_subcommand(
      "install", "install the Windows service (automatic start, restart on failure; elevated)");
  auto* uninstall = app.add_subcommand("uninstall", "stop and remove the Windows service");
  install->fallthrough();
  auto* enroll = app.add_subcommand("enroll", "enroll this machine with a mimamori-server");
  std::string server, code, fingerprint, credential;
  enroll->add_option("--server", server, "server address, https://host:port")->required();
  enroll->add_option("--code", code, "enrollment code from the server")->required();
  enroll->add_option("--fingerprint", fingerprint,
                     "expected SHA-256 fingerprint of the server's certificate");
  enroll->add_option("--credential", credential,
                     "where to store the credential (default: in the state folder)");
  CLI11_PARSE(app, argc, argv.data());
  core::init_logging("mimamori-agent", level);
  SetConsoleCtrlHandler(on_console_event, TRUE);
  try {
    if (*enroll) {
      uplink::EnrollRequest req;
      req.server_url = server;
      req.code = code;
      req.kind = "agent";
      req.version = kVersion;
      req.fingerprint = fingerprint;
      if (credential.empty()) {
        core::Config cfg = load_config(ro.config_file, ro.sets);
        credential = cfg.get<std::string>(
            "agent.credential",
            u8(u8path(cfg.get<std::string>("agent.state_dir", default_state_dir())) /
               "agent.credential"));
      }
      return uplink::enroll_command(req, u8path(credential));
    }
    if (*install) return agent::install_service(ro.config_file);
    if (*uninstall) return agent::uninstall_service();
    if (as_service) return agent::run_as_service([&ro] { return run_agent(ro); }, g_stop);
    return run_agent(ro);
  } catch (const core::ConfigError& e) {
    spdlog::error("{}", e.what());
    return 2;
  }
}
