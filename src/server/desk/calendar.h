#pragma once
// The desk's business calendar and SLA clocks: Japanese national holidays computed from the
// holiday law's rules, the provider's own closures and opening hours (JST), and SLA clocks that
// count business time (or wall time, for the 24-hour security clock) with pauses while the desk
// waits on the customer. Pure functions and values: no store, no clock of their own.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mimamori/core/result.h"
#include "mimamori/server/plan.h"

namespace mimamori::server {

/// A day of the proleptic Gregorian calendar.
struct CivilDate {
  int year = 1970;
  unsigned month = 1;
  unsigned day = 1;
  auto operator<=>(const CivilDate&) const = default;
};

/// Days since 1970-01-01 of a date, and back.
int64_t civil_days(CivilDate d);
/// The date `days` after 1970-01-01.
CivilDate civil_from_days(int64_t days);
/// 0 = Sunday … 6 = Saturday.
unsigned weekday_of(CivilDate d);
/// The JST date of a point in time (microseconds since the epoch, UTC).
CivilDate jst_date(int64_t micros);
/// `2026-05-06`.
std::string format_date(CivilDate d);
/// Parses `YYYY-MM-DD`; the error says which part is wrong.
core::Result<CivilDate> parse_date(std::string_view text);

/// Years the holiday rules here cover: the law as it stands since 2020 (with the 2020 and 2021
/// moves of 海の日, スポーツの日 and 山の日 for the Olympics) and the equinox formula's range.
inline constexpr int kFirstHolidayYear = 2020;
inline constexpr int kLastHolidayYear = 2099;

/// The national holiday on `d` (国民の祝日, 振替休日 or 国民の休日), "" when there is none or the
/// year is outside kFirstHolidayYear..kLastHolidayYear.
std::string_view national_holiday(CivilDate d);
/// Every national holiday of `year`, in date order (empty outside the covered years).
std::vector<std::pair<CivilDate, std::string_view>> national_holidays(int year);

/// A closure of the provider's desk: one day or a range of days, either of one year or of
/// every year (month-day only, a range may cross the year end: `12-29..01-03`).
struct Closure {
  bool every_year = false;
  CivilDate from, to;  ///< year ignored when every_year
  /// Whether `d` falls in the closure.
  bool covers(CivilDate d) const;
};
/// Parses `YYYY-MM-DD`, `YYYY-MM-DD..YYYY-MM-DD`, `MM-DD` or `MM-DD..MM-DD` (every year).
core::Result<Closure> parse_closure(std::string_view text);

/// When the desk is open: its hours (JST, minutes after midnight) on business days, and its
/// closures. Weekends and national holidays are always closed.
struct CalendarOptions {
  int open_minute = 9 * 60;
  int close_minute = 18 * 60;
  std::vector<Closure> closures;
};
/// Reads `HH:MM-HH:MM` into the options' hours; the error says what is wrong.
core::Status parse_business_hours(std::string_view text, CalendarOptions& options);

/// Business days and business time on the options' calendar, JST.
class BusinessCalendar {
 public:
  explicit BusinessCalendar(CalendarOptions options);
  /// Neither Saturday, Sunday, a national holiday nor a closure.
  bool is_business_day(CivilDate d) const;
  /// Why the desk is closed on `d` (土曜日, 日曜日, the holiday's name, 休業日), "" when open.
  std::string closed_because(CivilDate d) const;
  /// Seconds of opening hours between two points in time (0 when `to` <= `from`).
  int64_t business_seconds(int64_t from_us, int64_t to_us) const;
  /// The point in time when `seconds` of opening hours have passed after `from_us` (with 0,
  /// `from_us` itself). An error when the calendar has no business day within ten years.
  core::Result<int64_t> add_business_seconds(int64_t from_us, int64_t seconds) const;
  const CalendarOptions& options() const { return options_; }

 private:
  CalendarOptions options_;
};

/// One SLA target: seconds of business time, or of wall time around the clock.
struct SlaTarget {
  int64_t seconds = 0;
  bool around_the_clock = false;
};

/// The desk's SLA terms of one plan: first response and resolution for ordinary questions and
/// for security incidents (a 24-hour clock), and how long before a breach to warn. The defaults
/// are those of a customer without a contract (plan.h's kDefault…Minutes).
struct SlaTerms {
  SlaTarget first_response{kDefaultFirstResponseMinutes * 60, false};
  SlaTarget resolution{kDefaultResolutionMinutes * 60, false};
  SlaTarget security_first_response{kDefaultSecurityFirstResponseMinutes * 60, true};
  SlaTarget security_resolution{kDefaultSecurityResolutionMinutes * 60, true};
  int64_t warn_before_s = 3600;
};

/// The SLA terms of a plan's `desk_sla`: each target the plan names, the default for the rest.
SlaTerms sla_terms_for_plan(const PlanDeskSla& sla);

/// A time the desk waited on the customer (`to_us` 0: still waiting).
struct SlaPause {
  int64_t from_us = 0;
  int64_t to_us = 0;
};

/// One running SLA clock: when it started, its target, its pauses and when it stopped (the
/// first reply sent, the ticket resolved; 0 while it runs).
struct SlaClock {
  int64_t started_us = 0;
  SlaTarget target;
  std::vector<SlaPause> pauses;
  int64_t stopped_us = 0;
};

/// Where a clock stands.
enum class SlaState { kRunning, kWarning, kBreached, kPaused, kMet, kMissed };
/// `running`, `warning`, `breached`, `paused`, `met`, `missed`.
std::string_view sla_state_name(SlaState s);

/// A clock read at one moment.
struct SlaReading {
  SlaState state = SlaState::kRunning;
  int64_t elapsed_s = 0;    ///< counted time so far (business or wall), pauses excluded
  int64_t remaining_s = 0;  ///< target minus elapsed (negative once breached)
  int64_t due_us = 0;       ///< when it breaches if nothing changes; 0 while paused or stopped
};

/// Reads `clock` at `now_us` on `calendar`; warning once `warn_before_s` or less remain.
SlaReading read_sla(const BusinessCalendar& calendar, const SlaClock& clock, int64_t now_us,
                    int64_t warn_before_s);

}  // namespace mimamori::server
