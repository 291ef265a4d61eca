// The desk's business calendar against the Cabinet Office's published holiday list, and SLA
// clocks across Golden Week and a year end.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "desk/calendar.h"

namespace mimamori::server {
namespace {

// A JST wall-clock time as microseconds since the epoch.
int64_t jst(int y, unsigned m, unsigned d, int h = 0, int min = 0) {
  return (civil_days({y, m, d}) * 86400 + h * 3600 + min * 60 - 9 * 3600) * 1000000;
}

std::vector<std::string> listed(int year) {
  std::vector<std::string> out;
  for (const auto& [d, name] : national_holidays(year)) {
    out.push_back(format_date(d) + " " + std::string(name));
  }
  return out;
}

// 内閣府「国民の祝日について」の一覧（令和6年～令和9年）, copied date by date.
TEST(DeskCalendar, HolidaysOf2024MatchTheCabinetOfficeList) {
  EXPECT_EQ(listed(2024),
            (std::vector<std::string>{
                "2024-01-01 元日",       "2024-01-08 成人の日",   "2024-02-11 建国記念の日",
                "2024-02-12 休日",       "2024-02-23 天皇誕生日", "2024-03-20 春分の日",
                "2024-04-29 昭和の日",   "2024-05-03 憲法記念日", "2024-05-04 みどりの日",
                "2024-05-05 こどもの日", "2024-05-06 休日",       "2024-07-15 海の日",
                "2024-08-11 山の日",     "2024-08-12 休日",       "2024-09-16 敬老の日",
                "2024-09-22 秋分の日",   "2024-09-23 休日",       "2024-10-14 スポーツの日",
                "2024-11-03 文化の日",   "2024-11-04 休日",       "2024-11-23 勤労感謝の日"}));
}

TEST(DeskCalendar, HolidaysOf2025MatchTheCabinetOfficeList) {
  EXPECT_EQ(
      listed(2025),
      (std::vector<std::string>{
          "2025-01-01 元日", "2025-01-13 成人の日", "2025-02-11 建国記念の日",
          "2025-02-23 天皇誕生日", "2025-02-24 休日", "2025-03-20 春分の日", "2025-04-29 昭和の日",
          "2025-05-03 憲法記念日", "2025-05-04 みどりの日", "2025-05-05 こどもの日",
          "2025-05-06 休日", "2025-07-21 海の日", "2025-08-11 山の日", "2025-09-15 敬老の日",
          "2025-09-23 秋分の日", "2025-10-13 スポーツの日", "2025-11-03 文化の日",
          "2025-11-23 勤労感謝の日", "2025-11-24 休日"}));
}

TEST(DeskCalendar, HolidaysOf2026MatchTheCabinetOfficeList) {
  EXPECT_EQ(listed(2026),
            (std::vector<std::string>{
                "2026-01-01 元日", "2026-01-12 成人の日", "2026-02-11 建国記念の日",
                "2026-02-23 天皇誕生日", "2026-03-20 春分の日", "2026-04-29 昭和の日",
                "2026-05-03 憲法記念日", "2026-05-04 みどりの日", "2026-05-05 こどもの日",
                "2026-05-06 休日", "2026-07-20 海の日", "2026-08-11 山の日", "2026-09-21 敬老の日",
                "2026-09-22 休日", "2026-09-23 秋分の日", "2026-10-12 スポーツの日",
                "2026-11-03 文化の日", "2026-11-23 勤労感謝の日"}));
}

TEST(DeskCalendar, HolidaysOf2027MatchTheCabinetOfficeList) {
  EXPECT_EQ(
      listed(2027),
      (std::vector<std::string>{
          "2027-01-01 元日", "2027-01-11 成人の日", "2027-02-11 建国記念の日",
          "2027-02-23 天皇誕生日", "2027-03-21 春分の日", "2027-03-22 休日", "2027-04-29 昭和の日",
          "2027-05-03 憲法記念日", "2027-05-04 みどりの日", "2027-05-05 こどもの日",
          "2027-07-19 海の日", "2027-08-11 山の日", "2027-09-20 敬老の日", "2027-09-23 秋分の日",
          "2027-10-11 スポーツの日", "2027-11-03 文化の日", "2027-11-23 勤労感謝の日"}));
}

TEST(DeskCalendar, OlympicMovesOf2021AndYearsOutsideTheRules) {
  EXPECT_EQ(national_holiday({2021, 7, 22}), "海の日");
  EXPECT_EQ(national_holiday({2021, 7, 23}), "スポーツの日");
  EXPECT_EQ(national_holiday({2021, 8, 8}), "山の日");
  EXPECT_EQ(national_holiday({2021, 8, 9}), "休日");  // 山の日 on a Sunday
  EXPECT_EQ(national_holiday({2021, 10, 11}), "");    // not スポーツの日 that year
  EXPECT_EQ(national_holiday({2020, 8, 10}), "山の日");
  EXPECT_TRUE(national_holidays(2019).empty());
  EXPECT_TRUE(national_holidays(2100).empty());
}

TEST(DeskCalendar, DatesAndWeekdays) {
  EXPECT_EQ(weekday_of({2026, 12, 7}), 1u);  // a Monday
  EXPECT_EQ(weekday_of({2027, 3, 21}), 0u);
  EXPECT_EQ(civil_from_days(civil_days({2028, 2, 29})), (CivilDate{2028, 2, 29}));
  // 23:30 UTC is already the next day in Japan.
  EXPECT_EQ(jst_date((civil_days({2026, 12, 31}) * 86400 + 23 * 3600 + 1800) * 1000000),
            (CivilDate{2027, 1, 1}));
  EXPECT_FALSE(parse_date("2026-02-29").ok());
  EXPECT_NE(parse_date("2026-13-01").error().message.find("month 13"), std::string::npos);
}

TEST(DeskCalendar, ClosuresParseAndCover) {
  auto year_end = parse_closure("12-29..01-03");
  ASSERT_TRUE(year_end.ok()) << year_end.error().message;
  EXPECT_TRUE(year_end->covers({2026, 12, 29}));
  EXPECT_TRUE(year_end->covers({2027, 1, 3}));
  EXPECT_FALSE(year_end->covers({2027, 1, 4}));
  EXPECT_FALSE(year_end->covers({2026, 12, 28}));
  auto obon = parse_closure("2026-08-13..2026-08-14");
  ASSERT_TRUE(obon.ok());
  EXPECT_TRUE(obon->covers({2026, 8, 14}));
  EXPECT_FALSE(obon->covers({2027, 8, 14}));
  auto bad = parse_closure("2026-08-14..2026-08-13");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("ends before it begins"), std::string::npos);
  EXPECT_FALSE(parse_closure("12/29").ok());
  CalendarOptions o;
  EXPECT_FALSE(parse_business_hours("18:00-09:00", o).ok());
  ASSERT_TRUE(parse_business_hours("10:00-17:30", o).ok());
  EXPECT_EQ(o.open_minute, 600);
  EXPECT_EQ(o.close_minute, 1050);
}

CalendarOptions provider_calendar() {
  CalendarOptions o;  // 09:00-18:00
  o.closures.push_back(*parse_closure("12-29..01-03"));
  return o;
}

TEST(DeskCalendar, BusinessTimeAcrossGoldenWeek) {
  BusinessCalendar cal(provider_calendar());
  EXPECT_EQ(cal.closed_because({2026, 5, 6}), "休日");
  EXPECT_EQ(cal.closed_because({2026, 4, 29}), "昭和の日");
  EXPECT_EQ(cal.closed_because({2026, 5, 2}), "土曜日");
  EXPECT_TRUE(cal.is_business_day({2026, 5, 7}));
  // Friday 1 May 16:00: two hours that day, then nothing until Thursday 7 May.
  auto due = cal.add_business_seconds(jst(2026, 5, 1, 16), 4 * 3600);
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(*due, jst(2026, 5, 7, 11));
  // Three business days (27 hours): 2 + 9 (7th) + 9 (8th) + 7 (Monday 11th).
  EXPECT_EQ(*cal.add_business_seconds(jst(2026, 5, 1, 16), 27 * 3600), jst(2026, 5, 11, 16));
  // Tuesday 28 April 17:00 to Thursday 7 May 10:00: 1 (28th) + 9 (30th) + 9 (1st) + 1 (7th).
  EXPECT_EQ(cal.business_seconds(jst(2026, 4, 28, 17), jst(2026, 5, 7, 10)), 20 * 3600);
}

TEST(DeskCalendar, BusinessTimeAcrossTheYearEnd) {
  BusinessCalendar cal(provider_calendar());
  EXPECT_EQ(cal.closed_because({2026, 12, 29}), "休業日");
  EXPECT_EQ(cal.closed_because({2027, 1, 1}), "元日");
  EXPECT_TRUE(cal.is_business_day({2027, 1, 4}));
  // Monday 28 December 17:00 + 4 hours: one hour that day, three on Monday 4 January.
  EXPECT_EQ(*cal.add_business_seconds(jst(2026, 12, 28, 17), 4 * 3600), jst(2027, 1, 4, 12));
  // Asked at night or before opening: the clock starts when the desk opens.
  EXPECT_EQ(*cal.add_business_seconds(jst(2027, 1, 4, 7), 3600), jst(2027, 1, 4, 10));
  EXPECT_EQ(*cal.add_business_seconds(jst(2026, 12, 28, 18), 3600), jst(2027, 1, 4, 10));
  // Without the closure, 29 and 30 December are ordinary days.
  BusinessCalendar open_all_year(CalendarOptions{});
  EXPECT_EQ(*open_all_year.add_business_seconds(jst(2026, 12, 28, 17), 4 * 3600),
            jst(2026, 12, 29, 12));
}

TEST(DeskCalendar, CalendarWithNoBusinessDayIsAnError) {
  CalendarOptions o;
  o.closures.push_back(*parse_closure("01-01..12-31"));
  BusinessCalendar cal(o);
  auto due = cal.add_business_seconds(jst(2026, 12, 7, 10), 3600);
  ASSERT_FALSE(due.ok());
  EXPECT_NE(due.error().message.find("no business day"), std::string::npos);
}

TEST(DeskSla, FirstResponseClockWarnsThenBreachesAcrossTheYearEnd) {
  BusinessCalendar cal(provider_calendar());
  const SlaTerms terms;
  SlaClock c{jst(2026, 12, 28, 16), terms.first_response, {}, 0};  // 4 business hours
  auto r = read_sla(cal, c, jst(2026, 12, 28, 17), terms.warn_before_s);
  EXPECT_EQ(r.state, SlaState::kRunning);
  EXPECT_EQ(r.elapsed_s, 3600);
  EXPECT_EQ(r.due_us, jst(2027, 1, 4, 11));
  // Over the closed days nothing is counted.
  r = read_sla(cal, c, jst(2027, 1, 2, 12), terms.warn_before_s);
  EXPECT_EQ(r.elapsed_s, 2 * 3600);
  EXPECT_EQ(r.state, SlaState::kRunning);
  r = read_sla(cal, c, jst(2027, 1, 4, 10, 30), terms.warn_before_s);
  EXPECT_EQ(r.state, SlaState::kWarning);
  EXPECT_EQ(r.remaining_s, 1800);
  r = read_sla(cal, c, jst(2027, 1, 4, 11), terms.warn_before_s);
  EXPECT_EQ(r.state, SlaState::kBreached);
  // Answered in time: met, whenever it is read.
  c.stopped_us = jst(2027, 1, 4, 9, 15);
  EXPECT_EQ(read_sla(cal, c, jst(2027, 2, 1), terms.warn_before_s).state, SlaState::kMet);
  c.stopped_us = jst(2027, 1, 4, 11, 30);
  EXPECT_EQ(read_sla(cal, c, jst(2027, 2, 1), terms.warn_before_s).state, SlaState::kMissed);
}

TEST(DeskSla, WaitingOnTheCustomerPausesTheClock) {
  BusinessCalendar cal(provider_calendar());
  const SlaTerms terms;
  // Resolution (27 business hours) from Thursday 30 April 2026 09:00; the desk waits on the
  // customer from 1 May 10:00 to 7 May 14:00 (4 business hours of the 7th not counted).
  SlaClock c{jst(2026, 4, 30, 9), terms.resolution, {{jst(2026, 5, 1, 10), 0}}, 0};
  auto r = read_sla(cal, c, jst(2026, 5, 7, 12), terms.warn_before_s);
  EXPECT_EQ(r.state, SlaState::kPaused);
  EXPECT_EQ(r.elapsed_s, 10 * 3600);  // 9 on the 30th, 1 on the 1st
  EXPECT_EQ(r.due_us, 0);
  c.pauses[0].to_us = jst(2026, 5, 7, 14);
  r = read_sla(cal, c, jst(2026, 5, 7, 15), terms.warn_before_s);
  EXPECT_EQ(r.state, SlaState::kRunning);
  EXPECT_EQ(r.elapsed_s, 11 * 3600);
  // 16 hours left from 15:00 on the 7th: 3 + 9 (8th) + 4 (Monday 11th).
  EXPECT_EQ(r.due_us, jst(2026, 5, 11, 13));
}

TEST(DeskSla, SecurityIncidentClockRunsAroundTheClock) {
  BusinessCalendar cal(provider_calendar());
  const SlaTerms terms;
  // Reported on New Year's Eve at 22:00: the 24-hour clock ignores holidays and closures.
  SlaClock c{jst(2026, 12, 31, 22), terms.security_resolution, {}, 0};
  auto r = read_sla(cal, c, jst(2027, 1, 1, 20), terms.warn_before_s);
  EXPECT_EQ(r.elapsed_s, 22 * 3600);
  EXPECT_EQ(r.state, SlaState::kRunning);
  EXPECT_EQ(r.due_us, jst(2027, 1, 1, 22));
  EXPECT_EQ(read_sla(cal, c, jst(2027, 1, 1, 21, 30), terms.warn_before_s).state,
            SlaState::kWarning);
  EXPECT_EQ(read_sla(cal, c, jst(2027, 1, 1, 22, 1), terms.warn_before_s).state,
            SlaState::kBreached);
}

}  // namespace
}  // namespace mimamori::server
