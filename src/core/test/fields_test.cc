#include "mimamori/core/fields.h"

#include <gtest/gtest.h>

namespace mimamori::core {
namespace {

TEST(Fields, FindsThroughObjectsAndArrays) {
  Fields f;
  f.add("top", "t")
      .begin_object("dns")
      .add("rrname", "a.example")
      .begin_array("answers")
      .begin_object()
      .add("rdata", "1.2.3.4")
      .end()
      .begin_object()
      .add("rdata", "5.6.7.8")
      .end()
      .end()
      .end()
      .add("after", 7);
  EXPECT_TRUE(f.balanced());
  EXPECT_EQ(f.find_string("dns.rrname"), "a.example");
  EXPECT_EQ(f.find_string("dns.answers.1.rdata"), "5.6.7.8");
  EXPECT_EQ(f.find("after")->as_int(), 7);
  EXPECT_FALSE(f.find("dns.missing"));
  EXPECT_FALSE(f.find("top.x"));
  EXPECT_EQ(f.find_string("after"), "");
}

TEST(Fields, ClearKeepsCapacityAndEmpties) {
  Fields f;
  f.add("k", std::string(1000, 'x'));
  f.clear();
  EXPECT_TRUE(f.empty());
  EXPECT_FALSE(f.find("k"));
}

TEST(Fields, EqualityIsStructural) {
  Fields a, b;
  a.add("x", 1).add("y", "z");
  b.add("x", 1).add("y", "z");
  EXPECT_EQ(a, b);
  b.clear();
  b.add("y", "z").add("x", 1);
  EXPECT_NE(a, b);
}

TEST(Fields, NonNegativeSignedIntegersShareOneRepresentation) {
  Fields a, b;
  a.add("n", 5);
  b.add("n", 5u);
  EXPECT_EQ(a, b);
  a.clear();
  a.add("n", -5);
  EXPECT_EQ(a.find("n")->kind, ValueKind::kInt);
}

TEST(Fields, AppendCopiesMembersWithSubtrees) {
  Fields src;
  src.add("a", -3)
      .begin_object("o")
      .begin_array("l")
      .add("", "x")
      .add("", 2.5)
      .end()
      .add_null("n")
      .end();
  Fields dst;
  dst.add("first", true);
  dst.append(src).add("last", "z");
  EXPECT_TRUE(dst.balanced());
  EXPECT_EQ(dst.find("a")->i, -3);
  EXPECT_EQ(dst.find_string("o.l.0"), "x");
  EXPECT_EQ(dst.find("o.l.1")->d, 2.5);
  EXPECT_EQ(dst.find("o.n")->kind, ValueKind::kNull);
  EXPECT_EQ(dst.find_string("last"), "z");
  Fields expect;
  expect.add("first", true).append(src).add("last", "z");
  EXPECT_EQ(dst, expect);
}

}  // namespace
}  // namespace mimamori::core
