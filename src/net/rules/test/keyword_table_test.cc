#include "keyword_table.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mimamori::net::rules {
namespace {

TEST(KeywordTable, EveryRowIsFoundByItsNameAndNoNameTwice) {
  std::set<std::string_view> names;
  for (const auto& k : keyword_table()) {
    EXPECT_TRUE(names.insert(k.name).second) << k.name << " listed twice";
    EXPECT_EQ(find_keyword(k.name), &k) << k.name;
  }
  EXPECT_GT(names.size(), 200u);
  EXPECT_EQ(find_keyword("no_such_keyword"), nullptr);
  EXPECT_EQ(find_keyword("Content"), nullptr);  // names are exact
}

TEST(KeywordTable, FlagsAgreeWithHandlersAndBuffers) {
  for (const auto& k : keyword_table()) {
    bool unsupported = k.flags & kUnsupported;
    EXPECT_EQ(k.parse == nullptr, unsupported) << k.name;
    bool moves = k.flags & (kStickyBuffer | kLegacyModifier);
    EXPECT_EQ(k.buffer != BufferId::kCount, moves) << k.name;
    if (unsupported) {
      EXPECT_EQ(k.flags, kUnsupported) << k.name;
    }
    if (k.flags & (kContentModifier | kLegacyModifier)) {
      EXPECT_TRUE(k.flags & kNeedsContent) << k.name;
    }
    EXPECT_FALSE((k.flags & kStickyBuffer) && (k.flags & kNeedsValue)) << k.name;
  }
}

TEST(KeywordTable, StickyAndLegacyNamesComeFromTheTable) {
  EXPECT_EQ(sticky_buffer("http.uri"), BufferId::kHttpUri);
  EXPECT_EQ(sticky_buffer("file_data"), BufferId::kFileData);
  EXPECT_EQ(sticky_buffer("pkt_data"), BufferId::kPayload);
  EXPECT_EQ(sticky_buffer("http_uri"), std::nullopt);  // a legacy modifier, not sticky
  EXPECT_EQ(legacy_modifier_buffer("http_uri"), BufferId::kHttpUri);
  EXPECT_EQ(legacy_modifier_buffer("http.uri"), std::nullopt);
  EXPECT_EQ(sticky_buffer("content"), std::nullopt);
}

std::string reason(std::string_view options) {
  NameTable bits, ints, xbits;
  ParseContext ctx;
  ctx.flowbits = &bits;
  ctx.flowints = &ints;
  ctx.xbits = &xbits;
  std::string rule = "alert tcp any any -> any any (" + std::string(options) + ")";
  auto sig = parse_rule(rule, ctx);
  return sig ? "<loaded>" : sig.error().message;
}

// The checks a row's flags ask for run before its handler, with the reasons the loader has
// always reported.
TEST(KeywordTable, FlagChecksGiveTheSkipReasons) {
  EXPECT_EQ(reason("msg:\"x\"; content:\"a\"; sid:1;"), "<loaded>");
  EXPECT_EQ(reason("frobnicate; sid:1;"), "unknown keyword 'frobnicate'");
  EXPECT_EQ(reason("content:\"a\"; base64_decode; sid:1;"), "unsupported keyword 'base64_decode'");
  EXPECT_EQ(reason("ssh.protoversion:2; sid:1;"), "unsupported keyword 'ssh.protoversion'");
  EXPECT_EQ(reason("content; sid:1;"), "'content' needs a value");
  EXPECT_EQ(reason("flow:; sid:1;"), "'flow' needs a value");
  EXPECT_EQ(reason("nocase; content:\"a\"; sid:1;"), "'nocase' needs a content before it");
  EXPECT_EQ(reason("http_uri; sid:1;"), "'http_uri' needs a content before it");
  EXPECT_EQ(reason("http.uri:x; sid:1;"),
            "sticky buffer 'http.uri' takes no value (old 'http.uri:' form unsupported)");
  EXPECT_EQ(reason("content:\"a\"; depth; sid:1;"), "'depth' needs a value");
  EXPECT_EQ(reason("content:\"a\"; http.uri; sid:1;"),
            "sticky buffer http.uri is selected but nothing inspects it");
}

}  // namespace
}  // namespace mimamori::net::rules
