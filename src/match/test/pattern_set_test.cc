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

// Vectorscan's AVX-512 multi-literal code misses a match that ends a buffer of 68 bytes or more;
// the set must report it at every length all the same (through its padded scan there).
TEST(PatternSet, MatchEndingTheDataIsFoundAtEveryLength) {
  auto set = PatternSet::compile({{0, ".com", Pattern::Kind::kLiteral, true},
                                  {1, ".exe", Pattern::Kind::kLiteral, true},
                                  {2, "\\.dll", Pattern::Kind::kRegex, true, false}});
  ASSERT_TRUE(set.ok()) << set.error().message;
  PatternSet::Scratch scratch;
  ASSERT_TRUE(set->prepare(scratch).ok());
  for (std::size_t n = 4; n <= 300; ++n) {
    for (std::string ext : {".EXE", ".dll"}) {
      std::string data(n - 4, 'x');
      data += ext;
      uint64_t end = 0;
      ASSERT_TRUE(set->scan(data, scratch,
                            [&](uint32_t, uint64_t e) {
                              end = e;
                              return true;
                            })
                      .ok());
      EXPECT_EQ(end, n) << ext << " ending " << n << " bytes was not reported at its end";
    }
  }
}

TEST(PatternSet, NothingIsReportedPastTheDataAndEndAnchorsKeepTheirMeaning) {
  auto nul = PatternSet::compile({{7, std::string("a\0", 2), Pattern::Kind::kLiteral}});
  ASSERT_TRUE(nul.ok());
  PatternSet::Scratch scratch;
  ASSERT_TRUE(nul->prepare(scratch).ok());
  int hits = 0;
  std::string data(100, 'x');
  data += 'a';
  ASSERT_TRUE(nul->scan(data, scratch, [&](uint32_t, uint64_t) { return ++hits, true; }).ok());
  EXPECT_EQ(hits, 0) << "a match made of padding bytes was reported";

  auto anchored =
      PatternSet::compile({{1, "abc$", Pattern::Kind::kRegex}, {2, "zz", Pattern::Kind::kLiteral}});
  ASSERT_TRUE(anchored.ok());
  ASSERT_TRUE(anchored->prepare(scratch).ok());
  std::string text = std::string(10, 'x') + "abc";
  std::set<uint32_t> ids;
  ASSERT_TRUE(
      anchored->scan(text, scratch, [&](uint32_t id, uint64_t) { return ids.insert(id), true; })
          .ok());
  EXPECT_EQ(ids, (std::set<uint32_t>{1}));
  auto copy = PatternSet::deserialize(*anchored->serialize(), anchored->size());
  ASSERT_TRUE(copy.ok());
  ids.clear();
  ASSERT_TRUE(copy->prepare(scratch).ok());
  ASSERT_TRUE(
      copy->scan(text + "d", scratch, [&](uint32_t id, uint64_t) { return ids.insert(id), true; })
          .ok());
  EXPECT_TRUE(ids.empty()) << "abc$ matched before the end after a cache round trip";
}

}  // namespace
}  // namespace mimamori::match
