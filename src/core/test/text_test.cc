#include "mimamori/core/text.h"

#include <gtest/gtest.h>

namespace mimamori::core {
namespace {

TEST(Text, TrimRemovesSpacesTabsAndLineEndsOnBothSides) {
  EXPECT_EQ(trim("  \tHost: a \r\n"), "Host: a");
  EXPECT_EQ(trim(" \t\r\n"), "");
  EXPECT_EQ(trim("a b"), "a b");
}

TEST(Text, CaseInsensitiveComparisonIsAsciiOnly) {
  EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(iequals("abc", "abd"));
  EXPECT_FALSE(iequals("abc", "ab"));
  // A UTF-8 byte is compared as it is, never folded.
  EXPECT_FALSE(iequals("\xc3\xa9", "\xc3\x89"));
  EXPECT_TRUE(istarts_with("Transfer-Encoding: chunked", "transfer-encoding"));
  EXPECT_FALSE(istarts_with("Trans", "transfer"));
  EXPECT_EQ(to_lower("GET /Index.HTML"), "get /index.html");
}

TEST(Text, Base64IsRfc4648WithPadding) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\0\xff\xfe", 3)), "AP/+");
  EXPECT_EQ(base64("見守り"), "6KaL5a6I44KK");
}

TEST(Text, Base64DecodesWhatBase64WritesAndNothingElse) {
  for (std::string s : {"", "f", "fo", "foo", "foobar", "見守り"}) {
    EXPECT_EQ(base64_decode(base64(s)), s);
  }
  EXPECT_EQ(base64_decode("AP/+"), std::string("\0\xff\xfe", 3));
  for (std::string_view bad :
       {"Zg=", "Zg", "Z===", "Zm=v", " Zm9v", "Zm9v\n", "Zm9-", "Zg==Zg=="}) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace mimamori::core
