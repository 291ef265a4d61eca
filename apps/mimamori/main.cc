// mimamori: the command line — rule checks, log hunting, plan checks, administration.

#include <CLI/CLI.hpp>

#include "commands.h"
#include "mimamori/core/config.h"
#include "mimamori/core/log.h"

int main(int argc, char** argv) {
  CLI::App app{"mimamori: command line of the Mimamori security monitoring platform"};
  app.set_version_flag("-V,--version", "mimamori 0.1.0");
  app.require_subcommand(1);
  mimamori::core::init_logging("mimamori", "info");
  mimamori::cli::add_eve_commands(app);
  mimamori::cli::add_admin_commands(app);
  mimamori::cli::add_hunt_command(app);
  mimamori::cli::add_business_commands(app);
  mimamori::cli::add_stats_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const mimamori::core::ConfigError& e) {
    spdlog::error("{}", e.what());
    return 2;
  }
  return 0;
}
