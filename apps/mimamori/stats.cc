// `mimamori stats ipa`: the alert statistics for IPA (要件 9) from the server's store, as CSV or
// JSON, aggregated over customers with small cells suppressed (see src/server/stats/stats.h).

#include <cstdio>

#include "commands.h"
#include "mimamori/core/config.h"
#include "mimamori/server/ipa_stats.h"
#include "mimamori/server/server.h"
#include "mimamori/server/store.h"

namespace mimamori::cli {

void add_stats_commands(CLI::App& app) {
  auto* stats = app.add_subcommand("stats", "statistics exports");
  stats->require_subcommand(1);
  auto* ipa = stats->add_subcommand(
      "ipa", "alert statistics for IPA: per period, category, severity, source and service type");
  struct Args {
    std::string config_file, data_dir, store_url, from, to, period = "month", format = "csv";
  };
  auto a = std::make_shared<Args>();
  ipa->add_option("-c,--config", a->config_file, "the server's YAML configuration");
  ipa->add_option("--data-dir", a->data_dir, "the server's data directory (SQLite)");
  ipa->add_option("--store", a->store_url, "store URL: sqlite:DIR or postgresql://…");
  ipa->add_option("--from", a->from, "first day, YYYY-MM-DD (JST)")->required();
  ipa->add_option("--to", a->to, "last day, YYYY-MM-DD (JST)")->required();
  ipa->add_option("--period", a->period, "month (default) or quarter")
      ->check(CLI::IsMember({"month", "quarter"}));
  ipa->add_option("--format", a->format, "csv (default) or json")
      ->check(CLI::IsMember({"csv", "json"}));
  ipa->callback([a] {
    auto config = a->config_file.empty() ? core::Config::from_string("{}", "<defaults>")
                                         : core::Config::load_file(a->config_file);
    if (!a->data_dir.empty()) config.set("server.data_dir=" + a->data_dir);
    if (!a->store_url.empty()) config.set("store.url=" + a->store_url);
    auto options = server::load_server_options(config);
    auto store = server::open_store(options.store);
    if (!store.ok()) {
      std::fprintf(stderr, "mimamori stats ipa: cannot open the store: %s\n",
                   store.error().message.c_str());
      throw CLI::RuntimeError(1);
    }
    server::IpaQuery q{a->from, a->to, a->period};
    auto s = server::ipa_statistics(**store, server::Principal::system("mimamori stats ipa"), q);
    if (!s.ok()) {
      std::fprintf(stderr, "mimamori stats ipa: %s\n", s.error().message.c_str());
      throw CLI::RuntimeError(2);
    }
    const std::string out = a->format == "csv" ? server::ipa_csv(*s) : server::ipa_json(*s) + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
}

}  // namespace mimamori::cli
