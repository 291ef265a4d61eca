// `mimamori admin backup|restore`: a consistent copy of the server's store (while it runs) with
// a manifest and the key file, and its restoration into an empty store of a stopped server.
// Opens the configuration as the other admin commands do, but not the store itself: the
// backup reads the database beside the server, and a restore must find it unopened.

#include <cstdio>

#include "commands.h"
#include "mimamori/core/config.h"
#include "mimamori/server/backup.h"
#include "mimamori/server/server.h"

namespace mimamori::cli {
namespace {

struct BackupArgs {
  std::string config_file, data_dir, store_url, dir;
  std::vector<std::string> sets;
  bool without_key = false, force = false;
};

// The same store options as the other admin commands (admin.cc).
void add_config_options(CLI::App* cmd, BackupArgs& a) {
  cmd->add_option("-c,--config", a.config_file, "the server's YAML configuration");
  cmd->add_option("--data-dir", a.data_dir, "the server's data directory (SQLite)");
  cmd->add_option("--store", a.store_url, "store URL: sqlite:DIR or postgresql://…");
  cmd->add_option("--set", a.sets, "override a configuration key: key=value")->take_all();
}

server::StoreOptions store_options(const BackupArgs& a) {
  auto config = a.config_file.empty() ? core::Config::from_string("{}", "<defaults>")
                                      : core::Config::load_file(a.config_file);
  for (const auto& s : a.sets) config.set(s);
  if (!a.data_dir.empty()) config.set("server.data_dir=" + a.data_dir);
  if (!a.store_url.empty()) config.set("store.url=" + a.store_url);
  return server::load_server_options(config).store;
}

void print_line(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

[[noreturn]] void fail(const char* what, const core::Error& e) {
  std::fprintf(stderr, "mimamori admin %s: %s\n", what, e.message.c_str());
  throw CLI::RuntimeError(1);
}

void print_tables(const server::BackupManifest& m) {
  for (const auto& [t, n] : m.tables) {
    std::printf("  %-28s %lld\n", t.c_str(), static_cast<long long>(n));
  }
}

}  // namespace

void add_admin_backup_commands(CLI::App& admin) {
  auto a = std::make_shared<BackupArgs>();
  auto* backup = admin.add_subcommand(
      "backup", "a consistent copy of the store, its manifest and key file (server may run)");
  add_config_options(backup, *a);
  backup->add_option("--to", a->dir, "the backup folder to create (0700)")->required();
  backup->add_flag("--without-key", a->without_key,
                   "leave the key file out (then keep it separately: without it the sealed "
                   "secrets are lost)");
  backup->callback([a] {
    server::BackupRequest req;
    req.to = a->dir;
    req.without_key = a->without_key;
    req.progress = print_line;
    auto m = server::backup_store(store_options(*a), req);
    if (!m.ok()) fail("backup", m.error());
    std::printf("backup of the %s store (schema %lld) written to %s at %s, SHA-256 %s\n",
                m->backend.c_str(), static_cast<long long>(m->schema_version), a->dir.c_str(),
                m->created_at.c_str(), m->sha256.c_str());
    print_tables(*m);
  });

  auto b = std::make_shared<BackupArgs>();
  auto* restore = admin.add_subcommand(
      "restore", "restore a backup into an empty store (stop the server first)");
  add_config_options(restore, *b);
  restore->add_option("--from", b->dir, "the backup folder")->required();
  restore->add_flag("--force", b->force, "replace a store or key file that is not empty");
  restore->callback([b] {
    server::RestoreRequest req;
    req.from = b->dir;
    req.force = b->force;
    req.progress = print_line;
    auto m = server::restore_store(store_options(*b), req);
    if (!m.ok()) fail("restore", m.error());
    std::printf("restored %s (schema %lld, taken %s); rows per table match the manifest:\n",
                b->dir.c_str(), static_cast<long long>(m->schema_version), m->created_at.c_str());
    print_tables(*m);
  });
}

}  // namespace mimamori::cli
