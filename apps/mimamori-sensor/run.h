#pragma once
// The sensor's run: what the signal handlers share with it, and the pieces `run` (files, a
// folder, stdin or an interface) and `run_inline` (NFQUEUE) are built from.

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
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

/// The behaviour detectors of every worker, after the rule engine, with counters shared by all.
struct Behaviour {
  net::BehaviourOptions options;
  std::shared_ptr<net::BehaviourCounters> counters = std::make_shared<net::BehaviourCounters>();
  Behaviour(const core::Config& config, const net::PipelineOptions& opt);
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
