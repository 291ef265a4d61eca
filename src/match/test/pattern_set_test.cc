#include "mimamori/match/pattern_set.h"

#include <gtest/gtest.h>

#include <set>

namespace mimamori::match {
namespace {

TEST(PatternSet, FindsEveryPatternInOnePass) {
  std::vector<Pattern> p = {
      {1, "evil", Pattern::Kind::kLiteral},
      {2,
       std::string("\0\x01"
                   "ab",
                   4),
       Pattern::Kind::kLiteral},  // starts with NUL
      {3, "USER-AGENT", Pattern::Kind::kLiteral, true},
      {4, "id=[0-9]+&", Pattern::Kind::kRegex},
  };
  auto set = PatternSet::compile(p);
  ASSERT_TRUE(set.ok()) << set.error().message;
  PatternSet::Scratch scratch;
  ASSERT_TRUE(set->prepare(scratch).ok());
  std::set<uint32_t> hits;
  std::string data = std::string("GET /?id=42& evil user-agent ") + std::string(
                                                                        "\0\x01"
                                                                        "ab",
                                                                        4);
  ASSERT_TRUE(set->scan(data, scratch,
                        [&](uint32_t id, uint64_t) {
                          hits.insert(id);
                          return true;
                        })
                  .ok());
  EXPECT_EQ(hits, (std::set<uint32_t>{1, 2, 3, 4}));
  hits.clear();
  ASSERT_TRUE(set->scan("nothing here", scratch,
                        [&](uint32_t id, uint64_t) {
                          hits.insert(id);
                          return true;
                        })
                  .ok());
  EXPECT_TRUE(hits.empty());
}

TEST(PatternSet, BadRegexNamesThePattern) {
  auto set = PatternSet::compile({{7, "a(b", Pattern::Kind::kRegex}});
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.error().message.find("pattern id 7"), std::string::npos) << set.error().message;
}

TEST(PatternSet, SerializedDatabaseMatchesTheSame) {
  auto set = PatternSet::compile({{9, "needle", Pattern::Kind::kLiteral}});
  ASSERT_TRUE(set.ok());
  auto bytes = set->serialize();
  ASSERT_TRUE(bytes.ok());
  auto again = PatternSet::deserialize(*bytes, 1);
  ASSERT_TRUE(again.ok());
  PatternSet::Scratch s;
  ASSERT_TRUE(again->prepare(s).ok());
  int n = 0;
  ASSERT_TRUE(again
                  ->scan("hayneedlestack", s,
                         [&](uint32_t id, uint64_t end) {
                           EXPECT_EQ(id, 9u);
                           EXPECT_EQ(end, 9u);
                           ++n;
                           return true;
                         })
                  .ok());
  EXPECT_EQ(n, 1);
  EXPECT_FALSE(PatternSet::deserialize("garbage", 1).ok());
}

}  // namespace
}  // namespace mimamori::match
