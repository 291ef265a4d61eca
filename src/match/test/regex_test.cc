#include "mimamori/match/regex.h"

#include <gtest/gtest.h>

namespace mimamori::match {
namespace {

TEST(Regex, SearchesWithOptionsAndReportsSpan) {
  auto re = Regex::compile("^get\\s+/admin", {.caseless = true, .multiline = true});
  ASSERT_TRUE(re.ok());
  size_t b = 0, e = 0;
  EXPECT_TRUE(re->search("POST /x\nGET  /admin/", 0, &b, &e));
  EXPECT_EQ(b, 8u);
  EXPECT_EQ(e, 19u);
  EXPECT_FALSE(re->search("GET /user"));
}

TEST(Regex, CompileErrorSaysWhere) {
  auto re = Regex::compile("ab[c");
  ASSERT_FALSE(re.ok());
  EXPECT_NE(re.error().message.find("offset 4"), std::string::npos) << re.error().message;
}

}  // namespace
}  // namespace mimamori::match
