#include "mimamori/core/clock.h"

#include <gtest/gtest.h>

namespace mimamori::core {
namespace {

TEST(Clock, EveTimeIsJstWithMicroseconds) {
  auto t = parse_time("2026-11-26T15:30:00.000042Z").value();
  EXPECT_EQ(format_eve_time(t), "2026-11-27T00:30:00.000042+0900");
  EXPECT_EQ(format_eve_time(t, 0), "2026-11-26T15:30:00.000042+0000");
  EXPECT_EQ(format_eve_time(t, -330), "2026-11-26T10:00:00.000042-0530");
  EXPECT_EQ(format_local(t), "2026-11-27 00:30:00");
}

TEST(Clock, ParsesTheCommonForms) {
  int64_t expect = 1764171000;  // 2025-11-26T15:30:00Z
  for (auto s : {"2025-11-26T15:30:00Z", "2025-11-27T00:30:00+0900", "2025-11-27T00:30:00+09:00",
                 "2025-11-26 15:30:00", "2025-11-26t15:30:00z"}) {
    auto t = parse_time(s);
    ASSERT_TRUE(t.ok()) << s << ": " << t.error().message;
    EXPECT_EQ(t->seconds(), expect) << s;
  }
  EXPECT_EQ(parse_time("2025-11-26T15:30:00.1234567Z")->micros % 1000000, 123456);
}

TEST(Clock, RejectsBadTimesWithReason) {
  for (auto s : {"", "2025-13-01T00:00:00Z", "2025-11-26", "2025-11-26T15:30:00+9",
                 "2025-11-26T15:30:00 junk", "2025-11-26T15:30:00."}) {
    auto t = parse_time(s);
    EXPECT_FALSE(t.ok()) << s;
    if (!t.ok()) {
      EXPECT_NE(t.error().message.find("time '"), std::string::npos);
    }
  }
}

TEST(Clock, CivilDaysRoundTripAcrossCenturies) {
  for (int64_t y : {1601, 1899, 1970, 2000, 2024, 2100, 9999}) {
    auto t = Timestamp::from_seconds(days_from_civil(y, 2, 28) * 86400);
    auto text = format_eve_time(t, 0);
    EXPECT_EQ(parse_time(text)->micros, t.micros) << text;
  }
}

}  // namespace
}  // namespace mimamori::core
