// The sensor's run from files, a folder, stdin or a live interface, and the parts it shares
// with the inline run: the signal handlers, the rule service's controls, the behaviour detectors.

#include "run.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "commands.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/log.h"
#include "mimamori/net/workers.h"
#include "uplink_output.h"

namespace mimamori::sensor {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload_lists{false};
std::atomic<int> g_signals{0};
std::mutex g_inline_mu;
net::InlineSensor* g_inline = nullptr;
std::string g_inline_final;

namespace {

std::atomic<net::PacketSource*> g_source{nullptr};
extern "C" void on_signal(int) {
  g_signals.fetch_add(1);
  g_stop.store(true);
  if (auto* s = g_source.load()) s->interrupt();
}

std::atomic<net::rules::RuleService*> g_rules{nullptr};
extern "C" void on_sighup(int) {
  if (auto* r = g_rules.load()) r->request_reload();
  g_reload_lists.store(true);
}

// SIGHUP's default action ends the process: taken from the first moment, so that a reload asked
// for while the rules are still loading (seconds with a full ruleset) does not stop the sensor.
void take_sighup() {
  struct sigaction hup {};
  hup.sa_handler = on_sighup;
  hup.sa_flags = SA_RESTART;
  sigemptyset(&hup.sa_mask);
  sigaction(SIGHUP, &hup, nullptr);
}

}  // namespace

RuleControl::RuleControl(net::rules::RuleService& rules, const std::string& socket) {
  // SIGHUP reloads the rules (when some are loaded) and the behaviour lists.
  if (rules.loaded()) {
    g_rules.store(&rules);
    rules.start_reload_thread();
  }
  take_sighup();
  if (!socket.empty())
    control = std::make_unique<net::rules::ControlServer>(
        socket, [&rules](std::string_view cmd) { return rules.command(cmd); });
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

RuleControl::~RuleControl() { g_rules.store(nullptr); }

Behaviour::Behaviour(const core::Config& config, const net::PipelineOptions& opt)
    : options(net::BehaviourOptions::from_config(config)) {
  options.files.body_limit = opt.response_body_limit;
  if (!options.enabled) return;
  int64_t every = config.get<int64_t>("behaviour.intel.reload-interval", 30);
  if (every < 0)
    throw core::ConfigError("behaviour.intel.reload-interval: expected seconds >= 0, got " +
                            std::to_string(every));
  reloader = std::thread([this, every] {
    auto next = std::chrono::steady_clock::now() + std::chrono::seconds(every);
    while (!stopping.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      bool asked = g_reload_lists.exchange(false);
      bool due = every > 0 && std::chrono::steady_clock::now() >= next;
      if (!asked && !due) continue;
      options.lists->reload(asked);
      next = std::chrono::steady_clock::now() + std::chrono::seconds(every);
    }
  });
}

Behaviour::~Behaviour() {
  stopping.store(true);
  if (reloader.joinable()) reloader.join();
}

std::vector<std::unique_ptr<net::Detector>> Behaviour::detectors(
    const net::rules::RuleService& rules, int worker) const {
  auto out = rules.make_detectors(worker);
  if (auto b = net::make_behaviour_detector(options, counters)) out.push_back(std::move(b));
  return out;
}

void Behaviour::append_stats(core::Fields& f) const {
  if (options.enabled) counters->append_to(f);
}

namespace {

// Writes `text` to `path` through a temporary file (readers see the old or the new list).
bool write_atomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  bool ok = f && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (f) ok = std::fclose(f) == 0 && ok;
  if (ok && std::rename(tmp.c_str(), path.c_str()) == 0) return true;
  spdlog::warn("server indicators: cannot write '{}': {}", path, std::strerror(errno));
  return false;
}

}  // namespace

void write_server_lists(const std::string& yaml, const std::string& intel_path,
                        const std::string& hash_path) {
  try {
    auto cfg = core::Config::from_string(yaml, "server configuration");
    std::string intel = "# threat indicators from mimamori-server\n";
    std::string hashes = "# known-bad file hashes from mimamori-server\n";
    size_t n = 0, h = 0;
    for (const char* key : {"threat_list", "threat_domains", "threat_tls"})
      for (const auto& v : cfg.get<std::vector<std::string>>(key, {})) {
        intel += v + "\n";
        ++n;
      }
    for (const auto& v : cfg.get<std::vector<std::string>>("threat_hashes", {})) {
      hashes += v + " mimamori-server\n";
      ++h;
    }
    if (!write_atomically(intel_path, intel) || !write_atomically(hash_path, hashes)) return;
    spdlog::info("server indicators: {} indicators and {} file hashes written beside the spool", n,
                 h);
    g_reload_lists.store(true);
  } catch (const core::ConfigError& e) {
    spdlog::warn("configuration from the server not usable: {}", e.what());
  }
}

int run(const Args& a) {
  take_sighup();
  core::Config config;
  if (!a.config.empty()) config = core::Config::load_file(a.config);
  for (const auto& s : a.sets) config.set(s);

  net::PipelineOptions opt = net::PipelineOptions::from_config(config);
  if (a.checksum == "none")
    opt.checksums = net::ChecksumMode::kNone;
  else if (a.checksum == "all")
    opt.checksums = net::ChecksumMode::kAll;
  else if (a.checksum == "auto")
    // Live too: offloading NICs (and the loopback) hand up packets whose checksums the
    // kernel never filled in; as Suricata's pcap "auto", many bad ones switch the checks off.
    opt.checksums = net::ChecksumMode::kAuto;
  else
    throw core::ConfigError("-k: expected 'all', 'none' or 'auto', got '" + a.checksum + "'");
  if (a.simulate_ips) opt.ips = true;
  opt.in_iface = a.iface;
  int threads = a.threads;
  if (a.runmode.empty() || a.runmode == "single") {
    if (a.runmode == "single") threads = 1;
  } else if (a.runmode != "workers" && a.runmode != "autofp") {
    throw core::ConfigError("--runmode: expected 'workers', 'autofp' or 'single', got '" +
                            a.runmode + "'");
  }
  threads = std::max(1, std::min(threads, 64));

  // Output. The uplink (to mimamori-server): a credential on the command line or in `uplink.*`.
  if (!a.credential.empty()) config.set("uplink.credential=" + a.credential);
  if (!a.spool_dir.empty()) config.set("uplink.spool_dir=" + a.spool_dir);
  auto up = UplinkSettings::from_config(config);
  if (!up.credential.empty() && config.get<bool>("behaviour.intel.server", true)) {
    // The server's threat indicators and file hashes: pulled with the device configuration,
    // kept beside the spool, read by the behaviour detectors as one more list each.
    auto state = std::filesystem::path(up.spool_dir).parent_path();
    std::string intel = config.get<std::string>("behaviour.intel.server-list",
                                                (state / "server-indicators.txt").string());
    std::string hashes = config.get<std::string>("behaviour.files.server-list",
                                                 (state / "server-hashes.txt").string());
    config.set("behaviour.intel.server-list=" + intel);
    config.set("behaviour.files.server-list=" + hashes);
    up.on_config = [intel, hashes](const std::string& yaml) {
      write_server_lists(yaml, intel, hashes);
    };
  }
  up.heartbeat_extra = [] {
    std::lock_guard l(g_inline_mu);
    return g_inline ? g_inline->stats().json_member() : g_inline_final;
  };
  std::string where;
  std::unique_ptr<net::EveSink> sink =
      open_eve_sink(config, a.log_dir, !up.credential.empty(), where);
  std::string filetype = config.get<std::string>("outputs.eve.filetype", "regular");
  FILE* human = filetype == "stdout" ? stderr : stdout;
  UplinkOutput* uplink_out = nullptr;
  if (!up.credential.empty()) {
    auto u = UplinkOutput::start(up, config, std::move(sink));
    if (!u) {
      spdlog::error("{}", u.error().message);
      return 1;
    }
    uplink_out = u->get();
    sink = std::move(*u);
  }

  if (!a.queue.empty()) return run_inline(a, config, opt, *sink, where, uplink_out, human);

  // Input.
  core::Result<std::unique_ptr<net::PacketSource>> src =
      a.iface.empty() ? net::PacketSource::open_read(a.read)
                      : net::PacketSource::open_live(
                            a.iface, net::LiveOptions{config.get<int>("capture.snaplen", 65535),
                                                      true, a.bpf, 32});
  if (!src) {
    spdlog::error("{}", src.error().message);
    return 1;
  }
  net::PacketSource& source = **src;
  g_source.store(&source);

  net::rules::RuleService rules(config, a.rules);
  Behaviour behaviour(config, opt);
  RuleControl control(rules, a.control);

  core::Timestamp started = core::now();
  net::WorkerPool pool(threads, [&](int i) {
    return std::make_unique<net::Pipeline>(opt, behaviour.detectors(rules, i), sink.get());
  });
  auto write_stats = [&](const net::PipelineStats& s) {
    core::Fields more;
    behaviour.append_stats(more);
    net::write_stats_record(*sink, s, source.stats(), started, opt.format, &more);
  };
  net::CaptureLoopOptions loop;
  loop.pps = a.pps;
  loop.stats_interval_us = config.get<int64_t>("stats.interval", 8) * 1'000'000;
  auto result = net::run_capture(source, pool, g_stop, loop, write_stats);
  int rc = 0;
  if (result.error) {
    spdlog::error("{}", result.error->message);
    rc = 1;
  }
  const net::PipelineStats& total = result.total;
  g_source.store(nullptr);
  write_stats(total);
  sink->flush();
  if (uplink_out) {
    int seen = g_signals.load();
    uplink_out->finish([seen] { return g_signals.load() > seen; });
  }
  if (g_stop.load()) spdlog::info("stopped by signal; all output flushed");

  print_summary(human, source.inputs(), total, where);
  if (uplink_out) std::fprintf(human, "%s\n", uplink_out->summary().c_str());
  return rc;
}

}  // namespace mimamori::sensor
