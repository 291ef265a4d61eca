// The agent's `rules update`: YARA and Sigma archives, fetched with core::HttpClient, read with
// libarchive, test-loaded with libyara / the Sigma compiler, swapped in with renameat2.

#include "mimamori/host/rules_update.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#ifdef MIMAMORI_HAVE_YARA
#include <yara.h>
#endif

#include "mimamori/core/rule_archive.h"
#include "mimamori/sigma/rules.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;

core::Error step(std::string_view name, std::string_view why) {
  return core::make_error("{}: {}", name, why);
}

bool is_yara(const std::string& n) { return n.ends_with(".yar") || n.ends_with(".yara"); }
bool is_sigma(const std::string& n) { return n.ends_with(".yml") || n.ends_with(".yaml"); }

// Whether one YARA file compiles on its own.
bool yara_compiles(const fs::path& file) {
#ifdef MIMAMORI_HAVE_YARA
  FILE* f = std::fopen(file.c_str(), "r");
  if (!f) return false;
  YR_COMPILER* c = nullptr;
  int bad = 1;
  if (yr_compiler_create(&c) == ERROR_SUCCESS) {
    yr_compiler_set_callback(
        c,
        [](int level, const char* name, int line, const YR_RULE*, const char* msg, void*) {
          if (level == YARA_ERROR_LEVEL_ERROR)
            spdlog::warn("rules update: {}:{}: {}", name ? name : "?", line, msg);
        },
        nullptr);
    bad = yr_compiler_add_file(c, f, nullptr, file.c_str());
    yr_compiler_destroy(c);
  }
  std::fclose(f);
  return bad == 0;
#else
  (void)file;
  return false;
#endif
}

// The archive's path, flattened to one safe file name: Sigma folders repeat file names across
// sub-folders, so the path names the file, and no entry can write outside the new folder.
std::string flat_name(std::string_view path) {
  std::string flat;
  for (char c : fs::path(std::string(path)).lexically_normal().string())
    flat += (c == '/' || c == '\\') ? '_' : c;
  while (!flat.empty() && (flat[0] == '.' || flat[0] == '_')) flat.erase(0, 1);
  return flat;
}

}  // namespace

core::Result<AgentRulesUpdateReport> update_agent_rules(const core::Config& config,
                                                        const AgentRulesUpdateOptions& o) {
  if (!o.kind.empty() && o.kind != "yara" && o.kind != "sigma")
    return step("options", "--kind: expected yara or sigma, got '" + o.kind + "'");
  auto body = core::fetch_rule_archive(o.url, o.sha256);
  if (!body) return body.error();
  auto entries = core::read_tar_gz(*body, [](std::string_view path) {
    std::string base = fs::path(std::string(path)).filename().string();
    return base != "." && base != ".." && (is_yara(base) || is_sigma(base));
  });
  if (!entries) return step("verify", entries.error().message);
  std::size_t yara = 0, sigma = 0;
  for (const auto& e : *entries) (is_yara(e.path) ? yara : sigma)++;
  AgentRulesUpdateReport report;
  report.kind = !o.kind.empty() ? o.kind : yara >= sigma && yara ? "yara" : sigma ? "sigma" : "";
  if (report.kind.empty())
    return step("verify", "the archive holds no YARA (.yar, .yara) or Sigma (.yml) file");
  bool want_yara = report.kind == "yara";
  if ((want_yara ? yara : sigma) == 0)
    return step("verify", "the archive holds no " + report.kind + " rule file");

  fs::path out = o.output;
  if (out.empty())
    out = want_yara
              ? fs::path(config.get<std::string>("yara.rules_dir", "/etc/mimamori/yara"))
              : fs::path(config.get<std::string>("agent.state_dir", "/var/lib/mimamori-agent")) /
                    "sigma";
  out = fs::absolute(out).lexically_normal();
  if (!out.has_filename()) out = out.parent_path();
  report.folder = out.string();

  auto fresh = core::StagedFolder::beside(out);
  if (!fresh) return step("unpack", fresh.error().message);
  std::vector<fs::path> written;
  for (const auto& e : *entries) {
    if (is_yara(e.path) != want_yara) continue;
    auto p = fresh->write(flat_name(e.path), e.data);
    if (!p) return step("unpack", p.error().message);
    written.push_back(*p);
  }

  // Test-load as the agent would; files that do not load are left out, with a warning.
  if (want_yara) {
#ifdef MIMAMORI_HAVE_YARA
    if (yr_initialize() != ERROR_SUCCESS) return step("test-load", "cannot initialise libyara");
    for (const auto& p : written) {
      if (yara_compiles(p)) {
        ++report.usable;
      } else {
        ++report.skipped;
        std::error_code ec;
        fs::remove(p, ec);
      }
    }
    yr_finalize();
#else
    return step("test-load", "built without libyara");
#endif
    report.files = report.usable;
    if (report.usable == 0) return step("test-load", "no YARA file of the archive compiles");
  } else {
    sigma::RuleSet rules;
    rules.load_path(fresh->path().string());
    if (auto st = rules.compile(); !st) return step("test-load", st.error().message);
    for (const auto& rule : rules.rules())
      report.usable +=
          !rule.correlation && rule.product == "linux" && rule.category == "process_creation";
    report.files = written.size();
    report.skipped = rules.errors().size();
    if (report.usable == 0)
      return step("test-load", "no Sigma linux process_creation rule of the archive loads");
  }

  if (auto st = fresh->swap_in(); !st) return step("swap", st.error().message);
  return report;
}

}  // namespace mimamori::host
