// mimamori-server: the provider's back end. Reads server.yaml, starts, prints its URL and
// certificate fingerprint, and stops gracefully on SIGINT/SIGTERM.

#include <CLI/CLI.hpp>
#include <csignal>

#include "mimamori/core/config.h"
#include "mimamori/core/log.h"
#include "mimamori/server/server.h"

int main(int argc, char** argv) {
  CLI::App app{"mimamori-server: the provider's SOC back end (ingest, triage, incidents, API)"};
  app.set_version_flag("-V,--version", "mimamori-server 0.1.0");
  std::string config_file, log_level = "info";
  std::vector<std::string> sets;
  app.add_option("-c,--config", config_file, "YAML configuration file");
  app.add_option("--set", sets, "override a configuration key: key=value")->take_all();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  CLI11_PARSE(app, argc, argv);
  mimamori::core::init_logging("mimamori-server", log_level);

  // Block the stop signals before any thread starts, so that only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  mimamori::server::ServerOptions options;
  try {
    auto config = config_file.empty() ? mimamori::core::Config::from_string("{}", "<defaults>")
                                      : mimamori::core::Config::load_file(config_file);
    for (const auto& s : sets) config.set(s);
    options = mimamori::server::load_server_options(config);
  } catch (const mimamori::core::ConfigError& e) {
    spdlog::error("{}", e.what());
    return 2;
  }
  auto server = mimamori::server::Server::start(options);
  if (!server.ok()) {
    spdlog::error("cannot start: {}", server.error().message);
    return 1;
  }
  auto& s = **server;
  std::printf("mimamori-server listening on %s (store: %s)\n", s.url().c_str(),
              std::string(s.store().backend_name()).c_str());
  if (!s.fingerprint().empty()) {
    std::printf("certificate fingerprint (SHA-256): %s\n", s.fingerprint().c_str());
  }
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("signal {}: stopping (finishing requests, committing queued events)", sig);
  s.stop();
  return 0;
}
