// Sigma engine: modifiers, wildcards, conditions, log sources, correlations, load errors.

#include "mimamori/sigma/rules.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace mimamori::sigma {
namespace {

using Event = std::vector<std::pair<std::string, std::string>>;

class Rules {
 public:
  explicit Rules(
      const std::string& detection,
      const std::string& logsource = "  product: windows\n  category: process_creation\n") {
    std::string yaml =
        "title: test rule\nid: 00000000-0000-0000-0000-000000000001\nlevel: high\nlogsource:\n" +
        logsource + "detection:\n" + detection;
    set_.load_text(yaml, "test.yml");
    auto st = set_.compile();
    EXPECT_TRUE(st.ok()) << st.error().message;
  }
  bool loaded() const { return set_.errors().empty() && set_.rules().size() == 1; }
  std::string error() const { return set_.errors().empty() ? "" : set_.errors()[0].reason; }
  bool fires(Event ev) {
    std::vector<FieldView> fv;
    for (const auto& [k, v] : ev) fv.push_back(FieldView{k, v});
    if (!matcher_) matcher_.emplace(set_);
    std::vector<uint32_t> hits;
    matcher_->match(fv, hits);
    return !hits.empty();
  }

 private:
  RuleSet set_;
  std::optional<Matcher> matcher_;
};

Event sysmon1(std::string image, std::string cmd) {
  return {{"Channel", "Microsoft-Windows-Sysmon/Operational"},
          {"EventID", "1"},
          {"Image", std::move(image)},
          {"CommandLine", std::move(cmd)}};
}

TEST(SigmaRules, EqualsIsCaseInsensitiveAndWhole) {
  Rules r("  sel:\n    Image: 'C:\\Windows\\System32\\cmd.exe'\n  condition: sel\n");
  ASSERT_TRUE(r.loaded()) << r.error();
  EXPECT_TRUE(r.fires(sysmon1("c:\\windows\\system32\\CMD.EXE", "")));
  EXPECT_FALSE(r.fires(sysmon1("c:\\windows\\system32\\cmd.exe.bak", "")));
}

TEST(SigmaRules, ContainsStartsEndsAndAll) {
  Rules r(
      "  sel:\n    Image|endswith: '\\powershell.exe'\n    CommandLine|contains|all:\n      - ' "
      "-enc '\n      - 'bypass'\n  condition: sel\n");
  ASSERT_TRUE(r.loaded()) << r.error();
  EXPECT_TRUE(r.fires(sysmon1("C:\\x\\PowerShell.exe", "powershell -ep Bypass -enc AAAA")));
  EXPECT_FALSE(r.fires(sysmon1("C:\\x\\PowerShell.exe", "powershell -ep Bypass")));
  EXPECT_FALSE(r.fires(sysmon1("C:\\x\\pwsh.exe", "powershell -ep Bypass -enc AAAA")));
}

TEST(SigmaRules, WildcardsAndEscapes) {
  Rules r("  sel:\n    CommandLine:\n      - 'a*b?d'\n      - 'lit\\*star'\n  condition: sel\n");
  ASSERT_TRUE(r.loaded()) << r.error();
  EXPECT_TRUE(r.fires(sysmon1("x", "aXXXbcd")));
  EXPECT_FALSE(r.fires(sysmon1("x", "aXXXbd")));
  EXPECT_TRUE(r.fires(sysmon1("x", "lit*star")));
  EXPECT_FALSE(r.fires(sysmon1("x", "litXstar")));
}

TEST(SigmaRules, ConditionGrammar) {
  Rules r(
      "  sel_a:\n    Image|endswith: '\\a.exe'\n  sel_b:\n    Image|endswith: '\\b.exe'\n  "
      "filter:\n    CommandLine|contains: 'safe'\n"
      "  condition: (1 of sel_*) and not filter\n");
  ASSERT_TRUE(r.loaded()) << r.error();
  EXPECT_TRUE(r.fires(sysmon1("C:\\b.exe", "run")));
  EXPECT_FALSE(r.fires(sysmon1("C:\\b.exe", "run safe")));
  EXPECT_FALSE(r.fires(sysmon1("C:\\c.exe", "run")));
  Rules all(
      "  sel_a:\n    Image|endswith: '.exe'\n  sel_b:\n    CommandLine: 'x'\n  condition: all of "
      "them\n");
  EXPECT_TRUE(all.fires(sysmon1("a.exe", "x")));
  EXPECT_FALSE(all.fires(sysmon1("a.exe", "y")));
}

TEST(SigmaRules, NullExistsNumbersCidrRegexFieldref) {
  Rules nul("  sel:\n    Image|endswith: '.exe'\n    OriginalFileName: null\n  condition: sel\n");
  EXPECT_TRUE(nul.fires(sysmon1("a.exe", "")));
  Event with = sysmon1("a.exe", "");
  with.push_back({"OriginalFileName", "a.exe"});
  EXPECT_FALSE(nul.fires(with));

  Rules ex("  sel:\n    Hashes|exists: true\n  condition: sel\n");
  EXPECT_FALSE(ex.fires(sysmon1("a", "")));
  Event h = sysmon1("a", "");
  h.push_back({"Hashes", "MD5=1"});
  EXPECT_TRUE(ex.fires(h));

  Rules num("  sel:\n    TerminalSessionId|gte: 2\n  condition: sel\n");
  Event n = sysmon1("a", "");
  n.push_back({"TerminalSessionId", "3"});
  EXPECT_TRUE(num.fires(n));
  n.back().second = "1";
  EXPECT_FALSE(num.fires(n));

  Rules cidr("  sel:\n    DestinationIp|cidr: '10.0.0.0/8'\n  condition: sel\n",
             "  product: windows\n  category: network_connection\n");
  Event c{{"Channel", "Microsoft-Windows-Sysmon/Operational"},
          {"EventID", "3"},
          {"DestinationIp", "10.2.3.4"}};
  EXPECT_TRUE(cidr.fires(c));
  c.back().second = "11.2.3.4";
  EXPECT_FALSE(cidr.fires(c));

  Rules re("  sel:\n    CommandLine|re: '-[eE][nN][cC]\\s+[A-Za-z0-9+/=]{8,}'\n  condition: sel\n");
  ASSERT_TRUE(re.loaded()) << re.error();
  EXPECT_TRUE(re.fires(sysmon1("a", "ps -Enc QUJDREVGR0g=")));
  EXPECT_FALSE(re.fires(sysmon1("a", "ps -Enc QUJD")));

  Rules ref("  sel:\n    ParentImage|fieldref: Image\n  condition: sel\n");
  Event r = sysmon1("C:\\a.exe", "");
  r.push_back({"ParentImage", "c:\\A.exe"});
  EXPECT_TRUE(ref.fires(r));
  r.back().second = "C:\\b.exe";
  EXPECT_FALSE(ref.fires(r));
}

TEST(SigmaRules, EncodingModifiers) {
  // "whoami" in UTF-16LE, base64 at some offset inside a longer encoded command.
  Rules r("  sel:\n    CommandLine|wide|base64offset|contains: 'whoami'\n  condition: sel\n");
  ASSERT_TRUE(r.loaded()) << r.error();
  // base64(UTF-16LE("x whoami /all"))
  EXPECT_TRUE(r.fires(sysmon1("p", "powershell -enc eAAgAHcAaABvAGEAbQBpACAALwBhAGwAbAA=")));
  EXPECT_FALSE(r.fires(sysmon1("p", "powershell -enc eAAgAGQAaQByAA==")));
  Rules w("  sel:\n    CommandLine|windash|contains: ' -exec '\n  condition: sel\n");
  EXPECT_TRUE(w.fires(sysmon1("p", "x /exec y")));
  EXPECT_TRUE(w.fires(sysmon1("p",
                              "x \xe2\x80\x93"
                              "exec y")));
  EXPECT_FALSE(w.fires(sysmon1("p", "x exec y")));
}

TEST(SigmaRules, LogSourceSelectsChannelAndEventId) {
  Rules r("  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n");
  Event other = sysmon1("C:\\cmd.exe", "");
  other[1].second = "3";  // network connection, not process creation
  EXPECT_FALSE(r.fires(other));
  // Security 4688 carries the same process under other names.
  Event sec{
      {"Channel", "Security"}, {"EventID", "4688"}, {"NewProcessName", "C:\\Windows\\cmd.exe"}};
  EXPECT_TRUE(r.fires(sec));
  Event sec_wrong{
      {"Channel", "Security"}, {"EventID", "4624"}, {"NewProcessName", "C:\\Windows\\cmd.exe"}};
  EXPECT_FALSE(r.fires(sec_wrong));
}

TEST(SigmaRules, BadRulesAreReportedAndSkipped) {
  RuleSet set;
  set.load_text(
      "title: x\nlogsource: {product: windows}\ndetection:\n  sel:\n    a|bogus: 1\n  condition: "
      "sel\n",
      "bad1.yml");
  set.load_text(
      "title: x\nlogsource: {product: windows}\ndetection:\n  sel:\n    a: 1\n  condition: sel and "
      "nope\n",
      "bad2.yml");
  set.load_text("title: x\n  - : [\n", "bad3.yml");
  set.load_text(
      "title: x\nlogsource: {product: windows}\ndetection:\n  sel:\n    a: 1\n  condition: sel | "
      "count() > 5\n",
      "bad4.yml");
  set.load_text(
      "title: ok\nlogsource: {product: windows}\ndetection:\n  sel:\n    a: 1\n  condition: sel\n",
      "good.yml");
  ASSERT_TRUE(set.compile().ok());
  ASSERT_EQ(set.rules().size(), 1u);
  ASSERT_EQ(set.errors().size(), 4u);
  EXPECT_EQ(set.errors()[0].file, "bad1.yml");
  EXPECT_NE(set.errors()[0].reason.find("bogus"), std::string::npos);
  EXPECT_NE(set.errors()[1].reason.find("nope"), std::string::npos);
  EXPECT_NE(set.errors()[2].reason.find("YAML"), std::string::npos);
  EXPECT_NE(set.errors()[3].reason.find("aggregation"), std::string::npos);
}

TEST(SigmaRules, CorrelationEventCountAndTemporal) {
  RuleSet set;
  set.load_text(R"(title: failed logon
name: failed_logon
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4625
  condition: sel
---
title: many failed logons
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [TargetUserName]
  timespan: 5m
  condition:
    gte: 3
level: high
---
title: success
name: ok_logon
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4624
  condition: sel
---
title: failed then success
correlation:
  type: temporal_ordered
  rules: [failed_logon, ok_logon]
  group-by: [TargetUserName]
  timespan: 10m
)",
                "corr.yml");
  ASSERT_TRUE(set.compile().ok());
  ASSERT_TRUE(set.errors().empty()) << set.errors()[0].reason;
  ASSERT_EQ(set.rules().size(), 4u);
  EXPECT_FALSE(set.rules()[0].generate);  // base rule used by a correlation only
  Matcher m(set);
  std::vector<CorrelationInput> inputs;
  auto feed = [&](const char* id, const char* user, int64_t sec) {
    std::vector<FieldView> ev{{"Channel", "Security"}, {"EventID", id}, {"TargetUserName", user}};
    std::vector<uint32_t> hits;
    m.match(ev, hits);
    for (auto h : hits)
      inputs.push_back(CorrelationInput{
          h, core::Timestamp::from_seconds(sec), inputs.size(), {{"TargetUserName", user}}});
  };
  feed("4625", "alice", 0);
  feed("4625", "alice", 60);
  feed("4625", "bob", 70);
  feed("4625", "alice", 120);
  feed("4624", "alice", 130);
  feed("4625", "bob", 1000);
  auto hits = correlate(set, inputs);
  int count_hits = 0, ordered = 0;
  for (const auto& h : hits) {
    if (h.rule == 1) {
      ++count_hits;
      EXPECT_EQ(h.group, "TargetUserName=alice");
      EXPECT_EQ(h.count, 3u);
    }
    if (h.rule == 3) ++ordered;
  }
  EXPECT_EQ(count_hits, 1);
  EXPECT_EQ(ordered, 1);
}

// Every SigmaHQ rule of the corpus is loaded; the load rate is printed with the reasons.
TEST(SigmaRules, CorpusLoadRate) {
  namespace fs = std::filesystem;
  fs::path root = fs::path(MIMAMORI_CORPUS_DIR) / "sigma";
  if (!fs::exists(root)) GTEST_SKIP() << "corpus not present";
  RuleSet set;
  for (const char* dir : {"rules", "rules-emerging-threats", "rules-threat-hunting"})
    set.load_path((root / dir).string());
  auto st = set.compile();
  ASSERT_TRUE(st.ok()) << st.error().message;
  double total = static_cast<double>(set.rules().size() + set.errors().size());
  double rate = set.rules().size() / total;
  std::printf("Sigma corpus: %zu files, %zu rules loaded, %zu not loaded (%.2f%% loaded)\n",
              set.files_seen(), set.rules().size(), set.errors().size(), 100 * rate);
  for (const auto& e : set.errors())
    std::printf("  not loaded: %s: %s\n", e.file.c_str(), e.reason.c_str());
  EXPECT_GE(rate, 0.98);
}

}  // namespace
}  // namespace mimamori::sigma
