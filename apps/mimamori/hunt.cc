// `mimamori hunt PATH... --rules DIR`: Sigma over Windows event logs (.evtx, read natively) and
// JSON-lines exports; a timeline sorted by time and a summary. The scan is the hunt module;
// this file reads the command line, loads the rules and prints.

#include "hunt.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

#include "commands.h"

namespace mimamori::cli {
namespace {

using hunt::Lang;
using hunt::msg;

struct Options {
  std::vector<std::string> paths;
  std::vector<std::string> rules;
  std::string min_level = "informational";
  std::string format = "csv";
  std::string output;
  std::string lang;
  std::string dump;
  unsigned threads = 0;
  bool show_errors = false;
  bool quiet = false;
  bool no_cache = false;
  std::vector<std::string> placeholders;  // name=value,value for `expand`
};

void to_stderr(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

// `--dump`: decoded records instead of detections (`none`: parse only, for measuring).
int dump(const Options& o, const std::vector<mimamori::hunt::Input>& inputs, unsigned threads,
         Lang lang) {
  auto t0 = std::chrono::steady_clock::now();
  hunt::ScanTotals totals;
  std::FILE* out = stdout;
  if (!o.output.empty()) {
    out = std::fopen(o.output.c_str(), "wb");
    if (!out) {
      std::fprintf(stderr, "%s: cannot write\n", o.output.c_str());
      return 2;
    }
  }
  using mimamori::hunt::DumpMode;
  DumpMode mode = o.dump == "none"     ? DumpMode::kNone
                  : o.dump == "xml"    ? DumpMode::kXml
                  : o.dump == "fields" ? DumpMode::kFields
                                       : DumpMode::kJson;
  mimamori::hunt::dump_records(inputs, mode, threads, out, totals, to_stderr);
  if (out != stdout) std::fclose(out);
  totals.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& in : inputs) totals.bytes += in.size;
  totals.files = inputs.size();
  if (!o.quiet) {
    double mb = static_cast<double>(totals.bytes) / 1e6;
    std::fprintf(stderr, "%s: %llu, %s: %llu, %.3f s, %.1f MB/s, %.0f records/s (%u threads)\n",
                 std::string(msg(lang, "summary.files")).c_str(),
                 static_cast<unsigned long long>(totals.files),
                 std::string(msg(lang, "summary.records")).c_str(),
                 static_cast<unsigned long long>(totals.records), totals.seconds,
                 mb / totals.seconds, static_cast<double>(totals.records) / totals.seconds,
                 o.dump == "none" ? threads : 1u);
  }
  return 0;
}

// Compiled rule databases are kept in the user's cache folder between runs.
std::string cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::string(x) + "/mimamori/sigma";
  if (const char* h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.cache/mimamori/sigma";
  return {};
}

double cpu_seconds() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Runs the scan, drawing a progress bar on a terminal.
void scan(mimamori::hunt::Hunt& engine, unsigned threads, bool progress, uint64_t total_bytes) {
  std::atomic<bool> done{false};
  std::thread bar;
  if (progress) {
    bar = std::thread([&] {
      while (!done.load()) {
        uint64_t b = engine.bytes_done();
        int pct = total_bytes ? static_cast<int>(100.0 * static_cast<double>(b) /
                                                 static_cast<double>(total_bytes))
                              : 100;
        int filled = pct / 4;
        std::fprintf(stderr, "\r[%.*s%*s] %3d%%  %.1f / %.1f MB", filled,
                     "#########################", 25 - filled, "", pct,
                     static_cast<double>(b) / 1e6, static_cast<double>(total_bytes) / 1e6);
        std::fflush(stderr);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      std::fprintf(stderr, "\r%*s\r", 60, "");
    });
  }
  engine.run(threads);
  done = true;
  if (bar.joinable()) bar.join();
}

int run(const Options& o) {
  Lang lang = o.lang == "ja" ? Lang::kJa : o.lang == "en" ? Lang::kEn : hunt::default_lang();
  auto min_level = sigma::parse_level(o.min_level);
  if (!min_level) {
    std::fprintf(stderr, "--min-level: unknown level '%s'\n", o.min_level.c_str());
    return 2;
  }
  hunt::Format format = hunt::Format::kCsv;
  if (o.format == "jsonl" || o.format == "json")
    format = hunt::Format::kJsonl;
  else if (o.format == "table")
    format = hunt::Format::kTable;
  else if (o.format != "csv") {
    std::fprintf(stderr, "--format: unknown format '%s' (csv, jsonl, table)\n", o.format.c_str());
    return 2;
  }
  unsigned threads = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  hunt::ScanTotals totals;
  auto inputs = mimamori::hunt::collect_inputs(o.paths, totals.unreadable, to_stderr);
  if (inputs.empty()) {
    std::fprintf(stderr, "%s\n", std::string(msg(lang, "err.no_inputs")).c_str());
    return 2;
  }
  if (!o.dump.empty()) return dump(o, inputs, threads, lang);
  if (o.rules.empty()) {
    std::fprintf(stderr, "%s\n", std::string(msg(lang, "err.no_rules")).c_str());
    return 2;
  }
  auto t0 = std::chrono::steady_clock::now();
  sigma::RuleSet rules;
  sigma::LoadOptions load;
  for (const auto& p : o.placeholders) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "--placeholder: expected NAME=VALUE[,VALUE...], got '%s'\n", p.c_str());
      return 2;
    }
    auto& values = load.placeholders[p.substr(0, eq)];
    std::stringstream list(p.substr(eq + 1));
    for (std::string v; std::getline(list, v, ',');) values.push_back(v);
  }
  for (const auto& r : o.rules) rules.load_path(r, load);
  if (auto st = rules.compile(o.no_cache ? std::string() : cache_dir()); !st.ok()) {
    std::fprintf(stderr, "rules: %s\n", st.error().message.c_str());
    return 2;
  }
  if (o.show_errors)
    for (const auto& e : rules.errors())
      std::fprintf(stderr, "%s: %s\n", e.file.c_str(), e.reason.c_str());
  if (rules.rules().empty()) {
    std::fprintf(stderr, "%s\n", std::string(msg(lang, "err.no_rules_loaded")).c_str());
    return 2;
  }
  auto t1 = std::chrono::steady_clock::now();
  double cpu0 = cpu_seconds();
  totals.rule_seconds = std::chrono::duration<double>(t1 - t0).count();
  bool progress = !o.quiet && ::isatty(STDERR_FILENO);
  uint64_t total_bytes = 0;
  for (const auto& in : inputs) total_bytes += in.size;
  mimamori::hunt::Hunt engine(rules, inputs, *min_level, to_stderr);
  scan(engine, threads, progress, total_bytes);
  auto rows = engine.merge(totals);
  totals.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  totals.cpu_seconds = cpu_seconds() - cpu0;
  totals.files = inputs.size();
  totals.bytes += total_bytes;

  std::vector<std::string> sources;
  for (const auto& in : inputs) sources.push_back(in.path);
  std::FILE* out = stdout;
  if (!o.output.empty()) {
    out = std::fopen(o.output.c_str(), "wb");
    if (!out) {
      std::fprintf(stderr, "%s: cannot write\n", o.output.c_str());
      return 2;
    }
  }
  hunt::write_timeline(out, format, rows, rules, sources);
  if (out != stdout) std::fclose(out);
  if (!o.quiet) hunt::write_summary(o.output.empty() ? stderr : stdout, lang, rows, rules, totals);
  return totals.unreadable ? 1 : 0;
}

}  // namespace

void add_hunt_command(CLI::App& app) {
  Lang lang = hunt::default_lang();
  auto o = std::make_shared<Options>();
  auto h = [lang](std::string_view key) { return std::string(msg(lang, key)); };
  auto* cmd = app.add_subcommand("hunt", h("help.hunt"));
  cmd->add_option("paths", o->paths, h("help.paths"))->required();
  cmd->add_option("-r,--rules", o->rules, h("help.rules"));
  cmd->add_option("-m,--min-level", o->min_level, h("help.min_level"));
  cmd->add_option("-f,--format", o->format, h("help.format"));
  cmd->add_option("-o,--output", o->output, h("help.output"));
  cmd->add_option("-t,--threads", o->threads, h("help.threads"));
  cmd->add_option("--lang", o->lang, h("help.lang"))->check(CLI::IsMember({"ja", "en"}));
  cmd->add_option("--dump", o->dump, h("help.dump"))
      ->check(CLI::IsMember({"json", "xml", "fields", "none"}));
  cmd->add_flag("--show-errors", o->show_errors, h("help.show_errors"));
  cmd->add_flag("-q,--quiet", o->quiet, h("help.quiet"));
  cmd->add_flag("--no-cache", o->no_cache, h("help.no_cache"));
  cmd->add_option("--placeholder", o->placeholders, h("help.placeholder"));
  cmd->callback([o] { throw CLI::RuntimeError(run(*o)); });
}

}  // namespace mimamori::cli
