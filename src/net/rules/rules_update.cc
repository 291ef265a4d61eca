// `rules update --url URL`: fetches a ruleset archive (tar.gz, as ET Open ships it) over https,
// http or file:// (core::HttpClient), reads it with libarchive, unpacks the rule files into a
// folder beside the rules folder, test-loads them, and swaps the folders only if they load.

#include "mimamori/net/rules/rules_update.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "mimamori/core/rule_archive.h"
#include "mimamori/net/rules/engine.h"
#include "mimamori/net/rules/loader.h"

namespace mimamori::net::rules {

namespace fs = std::filesystem;

namespace {

bool wanted(const std::string& name) {
  for (std::string_view ext : {".rules", ".config", ".conf", ".map"})
    if (name.size() > ext.size() && name.ends_with(ext)) return true;
  return false;
}

core::Error step(std::string_view name, std::string_view why) {
  return core::make_error("{}: {}", name, why);
}

}  // namespace

core::Result<RulesUpdateReport> update_rules(const core::Config& config,
                                             const RulesUpdateOptions& o) {
  fs::path out = o.output.empty() ? config.get<std::string>("default-rule-path", "") : o.output;
  if (out.empty())
    return step("options", "no rules folder: give --output DIR or set default-rule-path");
  out = fs::absolute(out).lexically_normal();
  if (!out.has_filename()) out = out.parent_path();

  auto archive = core::fetch_rule_archive(o.url, o.sha256);
  if (!archive) return archive.error();
  // Only the base name is used: no entry can write outside the new folder.
  auto entries = core::read_tar_gz(*archive, [](std::string_view path) {
    std::string base = fs::path(std::string(path)).filename().string();
    return base != "." && base != ".." && wanted(base);
  });
  if (!entries) return step("verify", entries.error().message);
  std::size_t rule_files = 0;
  for (const auto& e : *entries) rule_files += e.path.ends_with(".rules");
  if (rule_files == 0) return step("verify", "the archive holds no .rules file");

  // Unpack beside the target, so the swap is a rename on one file system.
  auto fresh = core::StagedFolder::beside(out);
  if (!fresh) return step("unpack", fresh.error().message);
  std::vector<std::string> files;
  for (const auto& e : *entries) {
    auto p = fresh->write(fs::path(e.path).filename().string(), e.data);
    if (!p) return step("unpack", p.error().message);
    if (p->string().ends_with(".rules")) files.push_back(p->string());
  }
  std::sort(files.begin(), files.end());

  // Test-load: the new rules must parse and compile as the sensor would run them.
  fs::path cls = fresh->path() / "classification.config";
  auto sources =
      RuleSources::from_config(config, files, fs::exists(cls) ? cls.string() : std::string{});
  auto set = load_rules(sources);
  if (!set) return step("test-load", set.error().message);
  RulesUpdateReport report;
  report.loaded = set->signatures.size();
  report.enabled = set->enabled;
  report.rule_files = files.size();
  report.folder = out.string();
  if (report.loaded == 0) return step("test-load", "no rule of the archive loads");
  auto engine = RuleEngine::build(std::move(*set), {});
  if (!engine) return step("test-load", engine.error().message);

  // Swap: exchange the folders atomically, then drop the old one.
  if (auto st = fresh->swap_in(); !st) return step("swap", st.error().message);
  return report;
}

}  // namespace mimamori::net::rules
