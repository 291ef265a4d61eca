#include <cstdio>
#include <fstream>
#include <map>

#include "commands.h"
#include "mimamori/core/eve.h"

namespace mimamori::cli {
namespace {

// Checks every line; bad lines are reported with file:line and the reason, and skipped.
int check_files(const std::vector<std::string>& files) {
  std::map<std::string, uint64_t> per_type;
  uint64_t good = 0, bad = 0;
  core::Event event;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "%s: cannot open\n", path.c_str());
      ++bad;
      continue;
    }
    std::string line;
    uint64_t lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      if (line.empty()) continue;
      if (auto st = core::parse_eve(line, event); !st.ok()) {
        std::fprintf(stderr, "%s:%llu: %s\n", path.c_str(), static_cast<unsigned long long>(lineno),
                     st.error().message.c_str());
        ++bad;
        continue;
      }
      ++good;
      ++per_type[event.event_type];
    }
  }
  for (const auto& [type, n] : per_type) {
    std::printf("%-12s %llu\n", type.c_str(), static_cast<unsigned long long>(n));
  }
  std::printf("%llu valid records, %llu bad\n", static_cast<unsigned long long>(good),
              static_cast<unsigned long long>(bad));
  return bad ? 1 : 0;
}

}  // namespace

void add_eve_commands(CLI::App& app) {
  auto* eve = app.add_subcommand("eve", "work with EVE JSON logs");
  eve->require_subcommand(1);
  auto* check = eve->add_subcommand("check", "validate EVE JSON files and count event types");
  auto files = std::make_shared<std::vector<std::string>>();
  check->add_option("files", *files, "EVE JSON files (one record a line)")->required();
  check->callback([files] { throw CLI::RuntimeError(check_files(*files)); });
}

}  // namespace mimamori::cli
