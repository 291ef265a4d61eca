#pragma once
// What the admin commands that read the server's own configuration and store share: the options
// naming them (-c, --data-dir, --store, --set), reading them as the server does, opening the
// store; an error ends the command with exit code 2 and "mimamori admin <command>: why".

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "mimamori/server/server.h"
#include "mimamori/server/store.h"

namespace mimamori::cli {

struct ServerConfigArgs {
  std::string config_file, data_dir, store_url;
  std::vector<std::string> sets;
};

void add_server_config_options(CLI::App* cmd, ServerConfigArgs& a);

[[noreturn]] void admin_error(const std::string& command, const std::string& message);

server::ServerOptions load_server_config(const ServerConfigArgs& a, const std::string& command);

std::unique_ptr<server::Store> open_server_store(const server::ServerOptions& options,
                                                 const std::string& command);

}  // namespace mimamori::cli
