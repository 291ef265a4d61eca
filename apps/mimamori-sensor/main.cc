// mimamori-sensor: network monitoring at the customer's gateway. main() only wires modules:
// capture -> workers (pipelines with their detectors) -> EVE output, plus stats and signals.

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include "commands.h"
#include "mimamori/core/config.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/log.h"
#include "mimamori/net/behaviour.h"
#include "mimamori/net/capture.h"
#include "mimamori/net/inline_queue.h"
#include "mimamori/net/output.h"
#include "mimamori/net/pipeline.h"
#include "mimamori/net/rules/control_socket.h"
#include "mimamori/net/rules/rule_service.h"
#include "mimamori/net/workers.h"
#include "uplink_output.h"

namespace {

using namespace mimamori;

std::atomic<bool> g_stop{false};
std::atomic<int> g_signals{0};  // SIGINT/SIGTERM received; one more during the drain cuts it short

std::atomic<mimamori::net::PacketSource*> g_source{nullptr};
extern "C" void on_signal(int) {
  g_signals.fetch_add(1);
  g_stop.store(true);
  if (auto* s = g_source.load()) s->interrupt();
}

// The inline sensor, for the uplink's heartbeats (its thread reads the counters); once it has
// stopped, its final counters, so that heartbeats sent while the uplink drains still carry them.
std::mutex g_inline_mu;
mimamori::net::InlineSensor* g_inline = nullptr;
std::string g_inline_final;

std::atomic<mimamori::net::rules::RuleService*> g_rules{nullptr};
extern "C" void on_sighup(int) {
  if (auto* r = g_rules.load()) r->request_reload();
}

struct Args {
  std::string read, iface, config, log_dir = ".", checksum = "auto", runmode, bpf;
  std::string credential, spool_dir;
  std::string queue;  // -q: inline on these NFQUEUE queues
  double pps = 0;
  std::string control, command;  // --control SOCKET; a command for a running sensor
  std::vector<std::string> sets;
  int threads = 1;
  bool simulate_ips = false;
  bool rules_check = false, rules_verbose = false;
  net::rules::RuleFileOptions rules;
};

// Control socket and SIGHUP for the rule service; SIGINT/SIGTERM stop the sensor.
struct RuleControl {
  std::unique_ptr<net::rules::ControlServer> control;
  RuleControl(net::rules::RuleService& rules, const std::string& socket) {
    if (rules.loaded()) {
      g_rules.store(&rules);
      struct sigaction hup {};
      hup.sa_handler = on_sighup;
      hup.sa_flags = SA_RESTART;
      sigemptyset(&hup.sa_mask);
      sigaction(SIGHUP, &hup, nullptr);
      rules.start_reload_thread();
    }
    if (!socket.empty())
      control = std::make_unique<net::rules::ControlServer>(
          socket, [&rules](std::string_view cmd) { return rules.command(cmd); });
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
  }
  ~RuleControl() { g_rules.store(nullptr); }
};

// The behaviour detectors of every worker, after the rule engine, with counters shared by all.
struct Behaviour {
  net::BehaviourOptions options;
  std::shared_ptr<net::BehaviourCounters> counters = std::make_shared<net::BehaviourCounters>();
  Behaviour(const core::Config& config, const net::PipelineOptions& opt)
      : options(net::BehaviourOptions::from_config(config)) {
    options.files.body_limit = opt.response_body_limit;
  }
  std::vector<std::unique_ptr<net::Detector>> detectors(const net::rules::RuleService& rules,
                                                        int worker) const {
    auto out = rules.make_detectors(worker);
    if (auto b = net::make_behaviour_detector(options, counters)) out.push_back(std::move(b));
    return out;
  }
  void append_stats(core::Fields& f) const {
    if (options.enabled) counters->append_to(f);
  }
};

// `-q`: inline on NFQUEUE. Every packet gets a verdict; drop rules and the IPS policy block.
int run_inline(const Args& a, const core::Config& config, net::PipelineOptions opt,
               net::EveSink& sink, const std::string& where, sensor::UplinkOutput* uplink_out,
               FILE* human) {
  auto queues = net::parse_queue_spec(a.queue);
  if (!queues) throw core::ConfigError(queues.error().message);
  opt.ips = true;
  // The kernel has checked what it forwards; offloading leaves checksums unfilled.
  if (a.checksum == "auto") opt.checksums = net::ChecksumMode::kNone;
  opt.in_iface = "nfq";
  auto iopt = net::InlineOptions::from_config(config, *queues);
  net::rules::RuleService rules(config, a.rules);
  Behaviour behaviour(config, opt);
  auto sensor = net::InlineSensor::open(iopt, [&](int i) {
    return std::make_unique<net::Pipeline>(opt, behaviour.detectors(rules, i), &sink);
  });
  if (!sensor) {
    spdlog::error("{}", sensor.error().message);
    return 1;
  }
  RuleControl control(rules, a.control);
  {
    std::lock_guard l(g_inline_mu);
    g_inline = sensor->get();
  }
  core::Timestamp started = core::now();
  auto write_stats = [&](const net::PipelineStats& ps, const net::InlineStats& is) {
    net::CaptureStats cs;
    cs.packets = is.accepted + is.dropped + is.fail_open_accepted + is.handoff_full;
    cs.kernel_drops = is.kernel_queue_dropped + is.kernel_user_dropped;
    core::Fields more;
    is.append_to(more);
    behaviour.append_stats(more);
    net::write_stats_record(sink, ps, cs, started, opt.format, &more);
    sink.flush();  // inline, what was found reaches the disk each interval
  };
  (*sensor)->run(g_stop, config.get<int64_t>("stats.interval", 8) * 1'000'000, write_stats);
  net::PipelineStats total = (*sensor)->pipeline_stats();
  net::InlineStats is = (*sensor)->stats();
  {
    std::lock_guard l(g_inline_mu);
    g_inline = nullptr;
    g_inline_final = is.json_member();
  }
  sensor->reset();  // unbinds the queues: the firewall's bypass takes over
  write_stats(total, is);
  sink.flush();
  if (uplink_out) {
    int seen = g_signals.load();
    uplink_out->finish([seen] { return g_signals.load() > seen; });
  }
  spdlog::info("stopped by signal; queues unbound, all output flushed");
  sensor::print_summary(human, {"queue " + a.queue}, total, where);
  std::fprintf(
      human,
      "inline: %llu accepted, %llu dropped (%llu rejected, %llu flows marked), %llu "
      "fail-open events\n",
      static_cast<unsigned long long>(is.accepted), static_cast<unsigned long long>(is.dropped),
      static_cast<unsigned long long>(is.rejected), static_cast<unsigned long long>(is.flow_marked),
      static_cast<unsigned long long>(is.fail_open_events));
  if (uplink_out) std::fprintf(human, "%s\n", uplink_out->summary().c_str());
  return 0;
}

int run(const Args& a) {
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
  auto up = sensor::UplinkSettings::from_config(config);
  up.heartbeat_extra = [] {
    std::lock_guard l(g_inline_mu);
    return g_inline ? g_inline->stats().json_member() : g_inline_final;
  };
  std::string where;
  std::unique_ptr<net::EveSink> sink =
      sensor::open_eve_sink(config, a.log_dir, !up.credential.empty(), where);
  std::string filetype = config.get<std::string>("outputs.eve.filetype", "regular");
  FILE* human = filetype == "stdout" ? stderr : stdout;
  sensor::UplinkOutput* uplink_out = nullptr;
  if (!up.credential.empty()) {
    auto u = sensor::UplinkOutput::start(up, config, std::move(sink));
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

  sensor::print_summary(human, source.inputs(), total, where);
  if (uplink_out) std::fprintf(human, "%s\n", uplink_out->summary().c_str());
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mimamori-sensor: network monitoring for the Otasuketai service"};
  Args a;
  std::string level = "info";
  auto* r =
      app.add_option("-r,--read", a.read, "pcap/pcapng file, directory of them, or '-' (stdin)");
  auto* i = app.add_option("-i,--interface", a.iface, "capture live on this interface");
  r->excludes(i);
  auto* q = app.add_option("-q,--queue", a.queue,
                           "inline (IPS) on these NFQUEUE queues: 0, 0:3 (one worker each)");
  q->excludes(r)->excludes(i);
  app.add_option("-c,--config", a.config, "YAML configuration file")->check(CLI::ExistingFile);
  app.add_option("-l,--log-dir", a.log_dir, "directory for eve.json (default: .)")
      ->check(CLI::ExistingDirectory);
  app.add_option("-S", a.rules.exclusive_file, "load only this rule file");
  app.add_option("-s", a.rules.files, "load this rule file too (repeatable)");
  app.add_option("-k", a.checksum, "checksum checks: all, none, auto (default: auto)");
  app.add_option("--set", a.sets, "override a config key: key=value (repeatable)");
  app.add_option("--runmode", a.runmode, "workers (default), autofp or single");
  app.add_option("--threads", a.threads, "worker threads (default 1)");
  app.add_flag("--rules-check", a.rules_check, "load the rules, report what loads and why not");
  app.add_flag("--rules-verbose", a.rules_verbose, "with --rules-check: list every skipped rule");
  app.add_flag("--simulate-ips", a.simulate_ips, "act on drop verdicts as an inline sensor would");
  app.add_option("--bpf", a.bpf, "BPF filter for live capture");
  app.add_option("--credential", a.credential,
                 "send events to mimamori-server with this credential (from 'enroll')");
  app.add_option("--spool-dir", a.spool_dir, "durable spool for the uplink (uplink.spool_dir)");
  app.add_option("--pps", a.pps, "read files at this many packets per second (replay pacing)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--log-level", level, "trace, debug, info, warn, error");
  app.add_option("--control", a.control,
                 "unix socket for control commands: while running, serve them there; with a "
                 "command, send it to the sensor running there");
  app.add_option("command", a.command, "with --control: reload-rules");
  auto* rules_cmd = app.add_subcommand("rules", "rule management");
  rules_cmd->require_subcommand(1);
  mimamori::net::rules::RulesUpdateOptions update_opts;
  auto* update = rules_cmd->add_subcommand(
      "update", "fetch a ruleset .tar.gz, verify, test-load, and install it only if it loads");
  update->add_option("--url", update_opts.url, "https://, http:// or file:// URL")->required();
  update->add_option("--output", update_opts.output,
                     "the rules folder to replace (default: default-rule-path)");
  update->add_option("--sha256", update_opts.sha256, "expected SHA-256 of the archive (hex)");
  app.set_version_flag("-V,--version", "mimamori-sensor 0.1.0");
  auto* enroll = app.add_subcommand("enroll", "enroll this sensor with a mimamori-server");
  mimamori::uplink::EnrollRequest req;
  std::string credential = "/etc/mimamori/sensor.credential";
  enroll->add_option("--server", req.server_url, "server address, https://host:port")->required();
  enroll->add_option("--code", req.code, "enrollment code from the server")->required();
  enroll->add_option("--fingerprint", req.fingerprint,
                     "expected SHA-256 fingerprint of the server's certificate");
  enroll->add_option("--credential", credential, "where to store the credential (mode 0600)");
  CLI11_PARSE(app, argc, argv);
  mimamori::core::init_logging("mimamori-sensor", level);
  if (*enroll) {
    req.kind = "sensor";
    req.version = "0.1.0";
    return mimamori::uplink::enroll_command(req, credential);
  }
  if (update->parsed()) {
    try {
      mimamori::core::Config config;
      if (!a.config.empty()) config = mimamori::core::Config::load_file(a.config);
      for (const auto& s : a.sets) config.set(s);
      return mimamori::sensor::rules_update(config, update_opts);
    } catch (const mimamori::core::ConfigError& e) {
      spdlog::error("{}", e.what());
      return 2;
    }
  }
  if (!a.command.empty()) {
    if (a.control.empty()) {
      std::fprintf(stderr, "mimamori-sensor: '%s' needs --control SOCKET\n", a.command.c_str());
      return 2;
    }
    return mimamori::sensor::send_command(a.control, a.command);
  }
  if (a.rules_check) {
    try {
      mimamori::core::Config config;
      if (!a.config.empty()) config = mimamori::core::Config::load_file(a.config);
      for (const auto& s : a.sets) config.set(s);
      return mimamori::net::rules::check_rules(config, a.rules, a.rules_verbose);
    } catch (const mimamori::core::ConfigError& e) {
      spdlog::error("{}", e.what());
      return 2;
    }
  }
  if (a.read.empty() && a.iface.empty() && a.queue.empty()) {
    std::fprintf(stderr,
                 "mimamori-sensor: give -r FILE|DIR|-, -i IFACE or -q QUEUE (see --help)\n");
    return 2;
  }
  try {
    return run(a);
  } catch (const mimamori::core::ConfigError& e) {
    spdlog::error("{}", e.what());
    return 2;
  }
}
