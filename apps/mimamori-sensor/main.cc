// mimamori-sensor: network monitoring at the customer's gateway. main() reads the command line
// and hands over: run (capture -> workers -> EVE output), run_inline (NFQUEUE), or a command.

#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.h"
#include "mimamori/core/config.h"
#include "mimamori/core/log.h"
#include "mimamori/net/rules/rule_service.h"
#include "mimamori/uplink/uplink.h"
#include "run.h"

using mimamori::sensor::Args;

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
    return mimamori::sensor::run(a);
  } catch (const mimamori::core::ConfigError& e) {
    spdlog::error("{}", e.what());
    return 2;
  }
}