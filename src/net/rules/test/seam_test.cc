#include "seam.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace mimamori::net::rules {
namespace {

match::Pattern literal(uint32_t id, std::string bytes, bool caseless = false) {
  match::Pattern p;
  p.id = id;
  p.expression = std::move(bytes);
  p.caseless = caseless;
  return p;
}

std::set<uint32_t> found(const SeamIndex& x, std::string_view tail, std::string_view next) {
  std::set<uint32_t> ids;
  x.find(tail, next, [&ids](uint32_t id) { ids.insert(id); });
  return ids;
}

TEST(SeamIndex, FindsEverySplitOfAPattern) {
  auto x = SeamIndex::build({literal(7, "cmd.exe /c")});
  EXPECT_EQ(x.overlap(), 9u);
  std::string p = "cmd.exe /c";
  for (std::size_t k = 1; k < p.size(); ++k) {
    std::string tail = "xx" + p.substr(0, k), next = p.substr(k) + "yy";
    EXPECT_EQ(found(x, tail, next), std::set<uint32_t>{7}) << "split after " << k;
    // Whole on one side, or broken by a changed byte next to the seam: not a seam match.
    EXPECT_TRUE(found(x, tail + p.substr(k), "yy").empty()) << k;
    std::string broken = next;
    broken[0] = '#';
    EXPECT_TRUE(found(x, tail, broken).empty()) << k;
  }
}

TEST(SeamIndex, ShortPatternsAndCase) {
  auto x = SeamIndex::build({literal(1, "ab"), literal(2, "SMB", true), literal(3, "Q")});
  EXPECT_EQ(found(x, "..a", "b.."), std::set<uint32_t>{1});
  EXPECT_TRUE(found(x, "..A", "b..").empty());  // case-sensitive
  EXPECT_EQ(found(x, "..s", "mB."), std::set<uint32_t>{2});
  EXPECT_EQ(found(x, ".Sm", "b"), std::set<uint32_t>{2});
  EXPECT_TRUE(found(x, ".S", "m").empty());  // "b" missing
  EXPECT_TRUE(found(x, "Q", "Q").empty());   // one byte never spans
}

// Against a brute-force search on random data over a small alphabet (many near misses).
TEST(SeamIndex, AgreesWithBruteForce) {
  std::mt19937 rng(12345);
  auto rand_text = [&rng](std::size_t n) {
    std::string s(n, 'a');
    for (auto& c : s) c = "abAB\0"[rng() % 5];
    return s;
  };
  std::vector<match::Pattern> pats;
  for (uint32_t i = 0; i < 60; ++i)
    pats.push_back(literal(i, rand_text(2 + rng() % 7), i % 3 == 0));
  auto x = SeamIndex::build(pats);
  auto fold = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (int round = 0; round < 3000; ++round) {
    std::string tail = rand_text(1 + rng() % 10), next = rand_text(1 + rng() % 10);
    std::set<uint32_t> want;
    std::string all = tail + next;
    for (const auto& p : pats) {
      const std::string& b = p.expression;
      for (std::size_t at = 0; at + b.size() <= all.size(); ++at) {
        if (at >= tail.size() || at + b.size() <= tail.size()) continue;  // must span
        std::string piece = all.substr(at, b.size());
        if (p.caseless ? fold(piece) == fold(b) : piece == b) want.insert(p.id);
      }
    }
    ASSERT_EQ(found(x, tail, next), want) << "round " << round;
  }
}

}  // namespace
}  // namespace mimamori::net::rules
