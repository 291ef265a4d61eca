#include "mimamori/net/rules/loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace mimamori::net::rules {
namespace {

RuleSet load(std::string_view text) {
  RuleLoader loader;
  EXPECT_TRUE(loader
                  .load_classification_text(
                      "config classification: trojan-activity,A Network Trojan was detected,1\n"
                      "config classification: misc-activity,Misc activity,3\n",
                      "classification.config")
                  .ok());
  loader.load_text(text, "test.rules");
  return loader.take();
}

std::string skip_reason(std::string_view rule) {
  auto set = load(rule);
  if (set.skipped.size() != 1) return "<loaded>";
  return set.skipped[0].reason;
}

TEST(Loader, ParsesHeaderMetadataAndClassification) {
  auto set = load(
      "# a comment\n"
      "\n"
      "alert http $EXTERNAL_NET any -> $HOME_NET [80,8000:8100,!8080] (msg:\"ET TEST "
      "\\\"quoted\\\" "
      "x\"; flow:established,to_server; http.uri; content:\"/a|3b|b\"; nocase; "
      "reference:url,example.com; classtype:trojan-activity; sid:1000001; rev:7; "
      "metadata:created_at 2020_01_01, signature_severity Major, created_at 2021;)\n");
  ASSERT_EQ(set.signatures.size(), 1u);
  ASSERT_TRUE(set.skipped.empty());
  const auto& s = set.signatures[0];
  EXPECT_EQ(s.sid, 1000001u);
  EXPECT_EQ(s.rev, 7u);
  EXPECT_EQ(s.msg, "ET TEST \"quoted\" x");
  EXPECT_EQ(s.category, "A Network Trojan was detected");
  EXPECT_EQ(s.priority, 1);
  EXPECT_EQ(s.app_proto, "http");
  EXPECT_EQ(s.line, 3);
  EXPECT_EQ(s.metadata.size(), 3u);
  ASSERT_EQ(s.buffers.size(), 1u);
  EXPECT_EQ(s.buffers[0].buffer, BufferId::kHttpUri);
  const auto& c = std::get<Content>(s.buffers[0].items[0]);
  EXPECT_EQ(c.bytes, "/a;b");
  EXPECT_TRUE(c.nocase);
  // Addresses: HOME_NET is RFC 1918, EXTERNAL_NET its complement.
  EXPECT_TRUE(s.dst.contains(*core::IpAddress::parse("10.1.2.3")));
  EXPECT_FALSE(s.dst.contains(*core::IpAddress::parse("8.8.8.8")));
  EXPECT_TRUE(s.src.contains(*core::IpAddress::parse("8.8.8.8")));
  EXPECT_FALSE(s.src.contains(*core::IpAddress::parse("192.168.1.1")));
  EXPECT_TRUE(s.dst_ports.contains(80));
  EXPECT_TRUE(s.dst_ports.contains(8050));
  EXPECT_FALSE(s.dst_ports.contains(8080));
  EXPECT_FALSE(s.dst_ports.contains(443));
}

TEST(Loader, MultiLineRulesAndDisabledRules) {
  auto set = load(
      "alert tcp any any -> any any (msg:\"two\"; \\\n"
      "  content:\"abc\"; sid:2;)\n"
      "# alert tcp any any -> any any (msg:\"disabled\"; sid:3;)\n"
      "alert udp any any <> 10.0.0.0/8 53 (msg:\"bi\"; dsize:>10; sid:4;)\n");
  ASSERT_EQ(set.signatures.size(), 2u);
  EXPECT_EQ(set.enabled, 2u);
  EXPECT_EQ(set.signatures[0].line, 1);
  EXPECT_TRUE(set.signatures[1].bidirectional);
  EXPECT_EQ(set.signatures[1].dsize->op, Range::Op::kGt);
}

TEST(Loader, LegacyModifiersMoveTheContent) {
  auto set = load(
      "alert http any any -> any any (msg:\"x\"; content:\"GET\"; http_method; "
      "content:\"/x\"; http_uri; content:\"y\"; distance:0; http_uri; sid:5;)\n");
  ASSERT_EQ(set.signatures.size(), 1u) << set.skipped[0].reason;
  const auto& b = set.signatures[0].buffers;
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].buffer, BufferId::kHttpMethod);
  EXPECT_EQ(b[1].buffer, BufferId::kHttpUri);
  EXPECT_EQ(b[1].items.size(), 2u);
  EXPECT_TRUE(std::get<Content>(b[1].items[1]).relative());
}

TEST(Loader, FlowbitsThresholdByteChecksAndPcre) {
  auto set = load(
      "alert tcp any any -> any any (msg:\"x\"; flowbits:isset,a|b; flowbits:noalert; "
      "content:\"|00 01|\"; byte_extract:2,0,len,relative; byte_test:1,!&,0x80,len,relative; "
      "byte_jump:2,0,relative,little,align; isdataat:!1,relative; "
      "pcre:\"/fo+\\;bar/Ri\"; threshold: type limit, track by_src, count 1, seconds 60; "
      "sid:6;)\n");
  ASSERT_EQ(set.signatures.size(), 1u) << set.skipped[0].reason;
  const auto& s = set.signatures[0];
  EXPECT_TRUE(s.noalert);
  ASSERT_EQ(s.flowbits.size(), 1u);
  EXPECT_TRUE(s.flowbits[0].any_of);
  EXPECT_EQ(s.flowbits[0].ids.size(), 2u);
  EXPECT_EQ(s.threshold->count, 1u);
  EXPECT_EQ(s.buffers[0].items.size(), 6u);
  EXPECT_EQ(std::get<ByteTest>(s.buffers[0].items[2]).read.offset_var, 0);  // "len"
  EXPECT_EQ(std::get<ByteTest>(s.buffers[0].items[2]).value_var, -1);
  EXPECT_TRUE(std::get<Pcre>(s.buffers[0].items[5]).relative);
}

TEST(Loader, BadRulesAreSkippedWithTheReason) {
  EXPECT_EQ(skip_reason("alert tcp any any -> any any (msg:\"x\"; base64_decode; sid:1;)"),
            "unsupported keyword 'base64_decode'");
  EXPECT_EQ(skip_reason("alert tcp any any -> any any (msg:\"x\"; frobnicate:1; sid:1;)"),
            "unknown keyword 'frobnicate'");
  EXPECT_EQ(skip_reason("alert tcp any any -> any any (msg:\"x\"; content:\"a\";)"),
            "rule has no sid");
  EXPECT_EQ(skip_reason("alert smb any any -> any any (msg:\"x\"; sid:1;)"),
            "app-layer protocol 'smb' is not parsed by this sensor");
  EXPECT_EQ(skip_reason("alert foo any any -> any any (msg:\"x\"; sid:1;)"),
            "unknown protocol 'foo'");
  EXPECT_EQ(skip_reason("alert tcp any any >> any any (msg:\"x\"; sid:1;)"),
            "direction must be '->' or '<>', got '>>'");
  EXPECT_EQ(skip_reason("alert tcp any any => any any (msg:\"x\"; sid:1;)"),
            "unsupported direction '=>' (transactional rules)");
  EXPECT_EQ(skip_reason("alert tcp $NOPE any -> any any (msg:\"x\"; sid:1;)"),
            "source address: unknown address variable '$NOPE'");
  EXPECT_EQ(skip_reason("alert tcp any any -> any 70000 (msg:\"x\"; sid:1;)"),
            "destination port: bad port '70000'");
  EXPECT_EQ(skip_reason("alert tcp any any -> any any (msg:\"x\"; nocase; sid:1;)"),
            "'nocase' needs a content before it");
  EXPECT_EQ(skip_reason("alert tcp any any -> any any (msg:\"x\"; content:\"|4|\"; sid:1;)"),
            "odd number of hex digits in content");
  EXPECT_TRUE(skip_reason("alert tcp any any -> any any (msg:\"x\"; pcre:\"/(/\"; sid:1;)")
                  .starts_with("pcre does not compile: "));
  EXPECT_EQ(
      skip_reason("alert dns any any -> any any (msg:\"x\"; http.uri; content:\"a\"; sid:1;)"),
      "buffer http.uri conflicts with protocol 'dns' of the rule header");
  EXPECT_EQ(skip_reason("alert tcp any any -> any any (msg:\"x\"; classtype:nope; sid:1;)"),
            "unknown classtype 'nope' (not in classification.config)");
  EXPECT_EQ(skip_reason("alert tcp any any -> any any (msg:\"x\"; content:\"abcdef\"; within:2; "
                        "sid:1;)"),
            "within:2 is shorter than the content (6 bytes)");
  EXPECT_EQ(skip_reason("alert tcp any any -> any any (msg:\"x\" sid:1)"),
            "option 'msg:\"x\" sid:1' is not terminated by ';'");
}

TEST(Loader, DuplicateSidKeepsTheFirst) {
  auto set = load(
      "alert tcp any any -> any any (msg:\"a\"; sid:9;)\n"
      "alert tcp any any -> any any (msg:\"b\"; sid:9;)\n");
  ASSERT_EQ(set.signatures.size(), 1u);
  EXPECT_EQ(set.signatures[0].msg, "a");
  ASSERT_EQ(set.skipped.size(), 1u);
  EXPECT_EQ(set.skipped[0].line, 2);
  EXPECT_EQ(set.skipped[0].sid, 9u);
  EXPECT_EQ(set.skipped[0].reason, "duplicate sid (already loaded from test.rules:1)");
}

TEST(Loader, IncludeReadsRelativeToTheFile) {
  auto dir = std::filesystem::temp_directory_path() / "mimamori_rules_include_test";
  std::filesystem::create_directories(dir / "sub");
  std::ofstream(dir / "main.rules") << "include sub/more.rules\n"
                                       "alert tcp any any -> any any (msg:\"a\"; sid:1;)\n";
  std::ofstream(dir / "sub" / "more.rules") << "alert tcp any any -> any any (msg:\"b\"; sid:2;)\n";
  RuleLoader loader;
  ASSERT_TRUE(loader.load_file(dir / "main.rules").ok());
  auto set = loader.take();
  EXPECT_EQ(set.signatures.size(), 2u);
  EXPECT_EQ(set.files.size(), 2u);
  EXPECT_FALSE(loader.load_file(dir / "missing.rules").ok());
  std::filesystem::remove_all(dir);
}

// An include of a folder, or of a path with a NUL byte in it, is skipped with its reason; the
// rules around it still load (a folder used to be read as a file of bogus size).
TEST(Loader, IncludeOfAFolderOrABrokenPathIsSkipped) {
  auto dir = std::filesystem::temp_directory_path() / "mimamori_rules_bad_include_test";
  std::filesystem::create_directories(dir / "sub");
  std::string text = "include sub\n";
  text += std::string("include x") + '\0' + "y.rules\n";
  text += "alert tcp any any -> any any (msg:\"a\"; sid:1;)\n";
  std::ofstream(dir / "main.rules") << text;
  RuleLoader loader;
  ASSERT_TRUE(loader.load_file(dir / "main.rules").ok());
  auto set = loader.take();
  EXPECT_EQ(set.signatures.size(), 1u);
  ASSERT_EQ(set.skipped.size(), 2u);
  EXPECT_EQ(set.skipped[0].line, 1);
  EXPECT_NE(set.skipped[0].reason.find("not a regular file"), std::string::npos)
      << set.skipped[0].reason;
  EXPECT_EQ(set.skipped[1].line, 2);
  EXPECT_EQ(set.skipped[1].reason, "include path holds a NUL byte");
  std::filesystem::remove_all(dir);
}

TEST(Address, GroupsNegationRangesAndIpv6) {
  Variables vars{{"A", "[10.0.0.0/8,!10.1.0.0/16]"}, {"LOOP", "$LOOP"}};
  auto a = AddressSet::parse("$A", vars);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->contains(*core::IpAddress::parse("10.2.0.1")));
  EXPECT_FALSE(a->contains(*core::IpAddress::parse("10.1.0.1")));
  auto b = AddressSet::parse("[2001:db8::/32, 1.2.3.4-1.2.3.10]", vars);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->contains(*core::IpAddress::parse("2001:db8::1")));
  EXPECT_TRUE(b->contains(*core::IpAddress::parse("1.2.3.7")));
  EXPECT_FALSE(b->contains(*core::IpAddress::parse("1.2.3.11")));
  EXPECT_FALSE(AddressSet::parse("$LOOP", vars).ok());
  EXPECT_FALSE(AddressSet::parse("[1.2.3.4", vars).ok());
  EXPECT_FALSE(AddressSet::parse("!any", vars).ok());
  auto p = PortSet::parse("[1024:,!2000:3000]", {});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->contains(1024));
  EXPECT_FALSE(p->contains(2500));
  EXPECT_FALSE(p->contains(80));
}

// The ET Open ruleset as shipped: the load rate must stay at what was measured (99.12%);
// the floor leaves room only for the handful of rules a newer ET download may add.
TEST(Loader, EtOpenLoadRate) {
  auto dir = std::filesystem::path(MIMAMORI_CORPUS_DIR) / "et-open" / "rules";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "corpus not present";
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".rules") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  auto set = load_rule_files(files, "", nullptr);
  ASSERT_TRUE(set.ok());
  ASSERT_GT(set->enabled, 20000u);
  double rate = static_cast<double>(set->signatures.size()) / static_cast<double>(set->enabled);
  EXPECT_GE(rate, 0.99) << describe_load(*set, false);
  for (const auto& s : set->skipped) {
    EXPECT_FALSE(s.reason.starts_with("unknown keyword"))
        << s.file << ":" << s.line << " " << s.reason;
  }
}

}  // namespace
}  // namespace mimamori::net::rules
