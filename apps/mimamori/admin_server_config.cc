#include "admin_server_config.h"

#include <cstdio>

#include "mimamori/core/config.h"

namespace mimamori::cli {

void add_server_config_options(CLI::App* cmd, ServerConfigArgs& a) {
  cmd->add_option("-c,--config", a.config_file, "the server's YAML configuration");
  cmd->add_option("--data-dir", a.data_dir, "the server's data directory (SQLite)");
  cmd->add_option("--store", a.store_url, "store URL: sqlite:DIR or postgresql://…");
  cmd->add_option("--set", a.sets, "override a configuration key: key=value")->take_all();
}

void admin_error(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "mimamori admin %s: %s\n", command.c_str(), message.c_str());
  throw CLI::RuntimeError(2);
}

server::ServerOptions load_server_config(const ServerConfigArgs& a, const std::string& command) {
  try {
    auto config = a.config_file.empty() ? core::Config::from_string("{}", "<defaults>")
                                        : core::Config::load_file(a.config_file);
    for (const auto& s : a.sets) config.set(s);
    if (!a.data_dir.empty()) config.set("server.data_dir=" + a.data_dir);
    if (!a.store_url.empty()) config.set("store.url=" + a.store_url);
    return server::load_server_options(config);
  } catch (const std::exception& e) {
    admin_error(command, e.what());
  }
}

std::unique_ptr<server::Store> open_server_store(const server::ServerOptions& options,
                                                 const std::string& command) {
  auto store = server::open_store(options.store);
  if (!store.ok()) admin_error(command, "cannot open the store: " + store.error().message);
  return std::move(*store);
}

}  // namespace mimamori::cli
