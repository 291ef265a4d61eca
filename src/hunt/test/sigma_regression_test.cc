// Detection over the Sigma regression cases: for each case, the rule named in its info.yml,
// loaded alone, fires on the case's .evtx as decoded by our reader (and as often as info.yml
// says). Prints the figure.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "mimamori/evtx/evtx.h"
#include "mimamori/sigma/rules.h"

namespace mimamori::hunt {
namespace {

using namespace mimamori::evtx;

namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The value of the first `key:` line (after `indent`), as written.
std::string line_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto k = line.find(key + ":");
    if (k == std::string::npos) continue;
    bool only_space = line.find_first_not_of(" -") >= k;
    if (!only_space) continue;
    std::string v = line.substr(k + key.size() + 1);
    v.erase(0, v.find_first_not_of(' '));
    while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
    return v;
  }
  return {};
}

TEST(EvtxSigmaRegression, NamedRuleFiresOnEachCase) {
  fs::path root = fs::path(MIMAMORI_CORPUS_DIR) / "sigma";
  if (!fs::exists(root / "regression_data")) GTEST_SKIP() << "corpus not present";
  // Rule files by id.
  std::map<std::string, fs::path> by_id;
  for (const char* dir : {"rules", "rules-emerging-threats", "rules-threat-hunting"}) {
    for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
      if (e.path().extension() != ".yml") continue;
      std::string id = line_value(read_all(e.path()), "id");
      if (!id.empty()) by_id.emplace(id, e.path());
    }
  }
  int cases = 0, fired = 0, count_ok = 0, skipped = 0;
  std::vector<std::string> failures, counts;
  for (const auto& e : fs::recursive_directory_iterator(root / "regression_data")) {
    if (e.path().filename() != "info.yml") continue;
    ++cases;
    std::string info = read_all(e.path());
    // rule_metadata: - id: <rule id>; the first `id:` is the case's own.
    auto meta = info.find("rule_metadata:");
    std::string rule_id = line_value(info.substr(meta == std::string::npos ? 0 : meta), "id");
    std::string expected = line_value(info, "match_count");
    fs::path evtx;
    for (const auto& f : fs::directory_iterator(e.path().parent_path()))
      if (f.path().extension() == ".evtx") evtx = f.path();
    std::string name = e.path().parent_path().filename();
    auto rule_file = by_id.find(rule_id);
    if (evtx.empty()) {  // a case for another product (no Windows event log)
      --cases;
      ++skipped;
      continue;
    }
    if (rule_file == by_id.end()) {
      failures.push_back(name + ": rule " + rule_id + " not found");
      continue;
    }
    sigma::RuleSet rules;
    rules.load_file(rule_file->second.string());
    ASSERT_TRUE(rules.compile().ok());
    if (!rules.errors().empty()) {
      failures.push_back(name + ": rule not loaded: " + rules.errors()[0].reason);
      continue;
    }
    sigma::Matcher matcher(rules);
    auto file = EvtxFile::open(evtx.string());
    ASSERT_TRUE(file.ok());
    int hits = 0;
    std::vector<sigma::FieldView> view;
    std::vector<uint32_t> matched;
    file->read(
        [&](const EvtxRecord& r) {
          view.clear();
          for (const auto& f : r.fields()) view.push_back(sigma::FieldView{f.name, f.value});
          matched.clear();
          matcher.match(view, matched);
          hits += !matched.empty();
        },
        {});
    if (hits > 0)
      ++fired;
    else
      failures.push_back(name + ": did not fire (" + rule_file->second.filename().string() + ")");
    if (!expected.empty() && std::to_string(hits) == expected)
      ++count_ok;
    else if (!expected.empty() && hits > 0)
      counts.push_back(name + ": fired on " + std::to_string(hits) + " events, info.yml says " +
                       expected);
  }
  std::printf(
      "Sigma regression: %d cases with an .evtx (%d without, skipped), named rule fired on %d "
      "(%.1f%%), match count equal to info.yml's on %d\n",
      cases, skipped, fired, cases ? 100.0 * fired / cases : 0.0, count_ok);
  for (const auto& f : failures) std::printf("  FAILED %s\n", f.c_str());
  for (const auto& c : counts) std::printf("  count differs: %s\n", c.c_str());
  EXPECT_EQ(cases, 202);
  EXPECT_EQ(fired, cases);
}

}  // namespace
}  // namespace mimamori::hunt
