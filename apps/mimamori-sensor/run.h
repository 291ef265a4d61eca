#pragma once
// The sensor's run: what the signal handlers share with it, and the pieces `run` (files, a
// folder, stdin or an interface) and `run_inline` (NFQUEUE) are built from.

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mimamori/core/config.h"
#include "mimamori/net/behaviour.h"
#include "mimamori/net/capture.h"
#include "mimamori/net/inline_queue.h"
#include "mimamori/net/output.h"
#include "mimamori/net/pipeline.h"
#include "mimamori/net/rules/control_socket.h"
#include "mimamori/net/rules/rule_service.h"

namespace mimamori::sensor {

class UplinkOutput;

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

extern std::atomic<bool> g_stop;
extern std::atomic<int> g_signals;  // SIGINT/SIGTERM received; one more in the drain cuts it short
// The inline sensor, for the uplink's heartbeats (its thread reads the counters); once it has
// stopped, its final counters, so that heartbeats sent while the uplink drains still carry them.
extern std::mutex g_inline_mu;
extern net::InlineSensor* g_inline;
extern std::string g_inline_final;

/// Control socket and SIGHUP for the rule service; SIGINT/SIGTERM stop the sensor.
struct RuleControl {
  std::unique_ptr<net::rules::ControlServer> control;
  RuleControl(net::rules::RuleService& rules, const std::string& socket);
  ~RuleControl();
};

/// Set by SIGHUP and by a new server configuration: reload the behaviour lists now.
extern std::atomic<bool> g_reload_lists;

/// Writes the threat indicators of the server's device configuration as the lists the behaviour
/// detectors read: addresses, domains and TLS fingerprints to `intel_path`, file hashes to
/// `hash_path` (each replaced atomically), and asks for a reload.
void write_server_lists(const std::string& yaml, const std::string& intel_path,
                        const std::string& hash_path);

/// The behaviour detectors of every worker, after the rule engine, with counters shared by all;
/// their lists are reloaded when a file changes (`behaviour.intel.reload-interval` seconds,
/// default 30; 0: only on SIGHUP or a new server configuration).
struct Behaviour {
  net::BehaviourOptions options;
  std::shared_ptr<net::BehaviourCounters> counters = std::make_shared<net::BehaviourCounters>();
  std::thread reloader;
  std::atomic<bool> stopping{false};
  Behaviour(const core::Config& config, const net::PipelineOptions& opt);
  ~Behaviour();
  std::vector<std::unique_ptr<net::Detector>> detectors(const net::rules::RuleService& rules,
                                                        int worker) const;
  void append_stats(core::Fields& f) const;
};

/// Reads packets (files, a folder, stdin or an interface) until the end or a signal. Exit code.
int run(const Args& a);

/// `-q`: inline on NFQUEUE. Every packet gets a verdict; drop rules and the IPS policy block.
int run_inline(const Args& a, const core::Config& config, net::PipelineOptions opt,
               net::EveSink& sink, const std::string& where, UplinkOutput* uplink_out,
               std::FILE* human);

}  // namespace mimamori::sensor
