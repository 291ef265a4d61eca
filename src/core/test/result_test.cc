#include "mimamori/core/result.h"

#include <gtest/gtest.h>

namespace mimamori::core {
namespace {

Result<int> half(int x) {
  if (x % 2) return make_error("{} is odd", x);
  return x / 2;
}

TEST(Result, CarriesValueOrError) {
  auto a = half(4);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 2);
  auto b = half(3);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().message, "3 is odd");
  EXPECT_EQ(b.value_or(-1), -1);
  Status s = make_error_code(404, "customer {} not found", 7);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, 404);
  EXPECT_TRUE(Status{}.ok());
}

TEST(ResultDeathTest, ValueOfErrorIsAProgrammerError) {
  EXPECT_DEATH((void)half(3).value(), "internal error");
}

}  // namespace
}  // namespace mimamori::core
