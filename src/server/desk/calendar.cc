// Holidays from the rules of 国民の祝日に関する法律 (as amended for 2020 onwards), the
// provider's closures, and business time over them.
#include "desk/calendar.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "mimamori/core/clock.h"

namespace mimamori::server {
namespace {

constexpr int64_t kDayUs = 86400LL * 1000000;
constexpr int64_t kJstUs = int64_t{core::kJstOffsetMinutes} * 60 * 1000000;

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

unsigned days_in_month(int y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// The n-th Monday of a month (Happy Monday system).
CivilDate nth_monday(int y, unsigned m, unsigned n) {
  const unsigned first = weekday_of({y, m, 1});
  const unsigned first_monday = 1 + (8 - first) % 7;
  return {y, m, first_monday + 7 * (n - 1)};
}

// The equinox days by the formula the Cabinet Office's almanac follows (valid 1980–2099), in
// integer millionths so that no rounding of a double can move a day.
unsigned spring_equinox(int y) {
  const int64_t n = y - 1980;
  return static_cast<unsigned>((20843100 + 242194 * n) / 1000000 - n / 4);
}
unsigned autumn_equinox(int y) {
  const int64_t n = y - 1980;
  return static_cast<unsigned>((23248800 + 242194 * n) / 1000000 - n / 4);
}

using HolidayList = std::vector<std::pair<CivilDate, std::string_view>>;

// The 国民の祝日 proper (article 2), without the days article 3 adds.
HolidayList statutory_holidays(int y) {
  HolidayList h;
  h.push_back({{y, 1, 1}, "元日"});
  h.push_back({nth_monday(y, 1, 2), "成人の日"});
  h.push_back({{y, 2, 11}, "建国記念の日"});
  h.push_back({{y, 2, 23}, "天皇誕生日"});
  h.push_back({{y, 3, spring_equinox(y)}, "春分の日"});
  h.push_back({{y, 4, 29}, "昭和の日"});
  h.push_back({{y, 5, 3}, "憲法記念日"});
  h.push_back({{y, 5, 4}, "みどりの日"});
  h.push_back({{y, 5, 5}, "こどもの日"});
  // The Olympic special measures act moved three holidays in 2020 and again in 2021.
  if (y == 2020) {
    h.push_back({{y, 7, 23}, "海の日"});
    h.push_back({{y, 7, 24}, "スポーツの日"});
    h.push_back({{y, 8, 10}, "山の日"});
  } else if (y == 2021) {
    h.push_back({{y, 7, 22}, "海の日"});
    h.push_back({{y, 7, 23}, "スポーツの日"});
    h.push_back({{y, 8, 8}, "山の日"});
  } else {
    h.push_back({nth_monday(y, 7, 3), "海の日"});
    h.push_back({{y, 8, 11}, "山の日"});
    h.push_back({nth_monday(y, 10, 2), "スポーツの日"});
  }
  h.push_back({nth_monday(y, 9, 3), "敬老の日"});
  h.push_back({{y, 9, autumn_equinox(y)}, "秋分の日"});
  h.push_back({{y, 11, 3}, "文化の日"});
  h.push_back({{y, 11, 23}, "勤労感謝の日"});
  std::sort(h.begin(), h.end());
  return h;
}

bool in_list(const HolidayList& h, CivilDate d) {
  return std::any_of(h.begin(), h.end(), [&](const auto& e) { return e.first == d; });
}

bool parse_uint(std::string_view s, unsigned& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

core::Result<CivilDate> parse_month_day(std::string_view text) {
  unsigned m = 0, d = 0;
  if (text.size() != 5 || text[2] != '-' || !parse_uint(text.substr(0, 2), m) ||
      !parse_uint(text.substr(3, 2), d) || m < 1 || m > 12 || d < 1 || d > days_in_month(2024, m)) {
    return core::make_error("\"{}\" is not a month and day (MM-DD)", text);
  }
  return CivilDate{2000, m, d};
}

}  // namespace

int64_t civil_days(CivilDate d) { return core::days_from_civil(d.year, d.month, d.day); }

CivilDate civil_from_days(int64_t z) {
  // H. Hinnant's civil_from_days.
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const auto d = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  const auto m = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  return {static_cast<int>(yoe + era * 400 + (m <= 2 ? 1 : 0)), m, d};
}

unsigned weekday_of(CivilDate d) {
  const int64_t days = civil_days(d);
  return static_cast<unsigned>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
}

CivilDate jst_date(int64_t micros) { return civil_from_days(floor_div(micros + kJstUs, kDayUs)); }

std::string format_date(CivilDate d) {
  return fmt::format("{:04}-{:02}-{:02}", d.year, d.month, d.day);
}

core::Result<CivilDate> parse_date(std::string_view text) {
  unsigned y = 0, m = 0, d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !parse_uint(text.substr(0, 4), y) ||
      !parse_uint(text.substr(5, 2), m) || !parse_uint(text.substr(8, 2), d)) {
    return core::make_error("\"{}\" is not a date (YYYY-MM-DD)", text);
  }
  if (m < 1 || m > 12) return core::make_error("\"{}\": month {} is not 1-12", text, m);
  if (d < 1 || d > days_in_month(static_cast<int>(y), m)) {
    return core::make_error("\"{}\": day {} does not exist in that month", text, d);
  }
  return CivilDate{static_cast<int>(y), m, d};
}

std::vector<std::pair<CivilDate, std::string_view>> national_holidays(int y) {
  if (y < kFirstHolidayYear || y > kLastHolidayYear) return {};
  HolidayList base = statutory_holidays(y);
  HolidayList out = base;
  for (const auto& [d, name] : base) {
    const int64_t day = civil_days(d);
    // Article 3(2), 振替休日: a holiday on a Sunday makes the nearest following day that is not
    // itself a 国民の祝日 a holiday.
    if (weekday_of(d) == 0) {
      int64_t next = day + 1;
      while (in_list(base, civil_from_days(next))) ++next;
      out.push_back({civil_from_days(next), "休日"});
    }
    // Article 3(3), 国民の休日: a day between two 国民の祝日 that is not one itself.
    const CivilDate between = civil_from_days(day + 1);
    if (!in_list(base, between) && in_list(base, civil_from_days(day + 2)) &&
        !in_list(out, between)) {
      out.push_back({between, "休日"});
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end(),
                        [](const auto& a, const auto& b) { return a.first == b.first; }),
            out.end());
  // Days that fall into the next year (a substitute for 12/31 cannot happen today, but keep
  // the list to its year whatever the rules become).
  std::erase_if(out, [&](const auto& e) { return e.first.year != y; });
  return out;
}

std::string_view national_holiday(CivilDate d) {
  for (const auto& [day, name] : national_holidays(d.year)) {
    if (day == d) return name;
  }
  return {};
}

bool Closure::covers(CivilDate d) const {
  if (!every_year) return from <= d && d <= to;
  const auto md = std::pair(d.month, d.day);
  const auto f = std::pair(from.month, from.day);
  const auto t = std::pair(to.month, to.day);
  if (f <= t) return f <= md && md <= t;
  return md >= f || md <= t;  // crosses the year end
}

core::Result<Closure> parse_closure(std::string_view text) {
  const auto dots = text.find("..");
  const std::string_view a = text.substr(0, dots);
  const std::string_view b = dots == std::string_view::npos ? a : text.substr(dots + 2);
  Closure c;
  if (a.size() == 5) {
    auto f = parse_month_day(a);
    if (!f.ok()) return core::make_error("closure \"{}\": {}", text, f.error().message);
    auto t = parse_month_day(b);
    if (!t.ok()) return core::make_error("closure \"{}\": {}", text, t.error().message);
    c.every_year = true;
    c.from = *f;
    c.to = *t;
    return c;
  }
  auto f = parse_date(a);
  if (!f.ok()) {
    return core::make_error("closure \"{}\": {} (write YYYY-MM-DD, MM-DD or a range A..B)", text,
                            f.error().message);
  }
  auto t = parse_date(b);
  if (!t.ok()) return core::make_error("closure \"{}\": {}", text, t.error().message);
  if (*t < *f) return core::make_error("closure \"{}\": the range ends before it begins", text);
  c.from = *f;
  c.to = *t;
  return c;
}

core::Status parse_business_hours(std::string_view text, CalendarOptions& options) {
  auto minute = [](std::string_view s, int& out) {
    unsigned h = 0, m = 0;
    if (s.size() != 5 || s[2] != ':' || !parse_uint(s.substr(0, 2), h) ||
        !parse_uint(s.substr(3, 2), m) || h > 24 || m > 59 || (h == 24 && m != 0)) {
      return false;
    }
    out = static_cast<int>(h * 60 + m);
    return true;
  };
  const auto dash = text.find('-');
  int open = 0, close = 0;
  if (dash == std::string_view::npos || !minute(text.substr(0, dash), open) ||
      !minute(text.substr(dash + 1), close)) {
    return core::make_error("business hours \"{}\" are not HH:MM-HH:MM (JST)", text);
  }
  if (close <= open) {
    return core::make_error("business hours \"{}\": closing is not after opening", text);
  }
  options.open_minute = open;
  options.close_minute = close;
  return {};
}

BusinessCalendar::BusinessCalendar(CalendarOptions options) : options_(std::move(options)) {}

bool BusinessCalendar::is_business_day(CivilDate d) const { return closed_because(d).empty(); }

std::string BusinessCalendar::closed_because(CivilDate d) const {
  const unsigned wd = weekday_of(d);
  if (wd == 6) return "土曜日";
  if (wd == 0) return "日曜日";
  if (auto h = national_holiday(d); !h.empty()) return std::string(h);
  for (const auto& c : options_.closures) {
    if (c.covers(d)) return "休業日";
  }
  return {};
}

int64_t BusinessCalendar::business_seconds(int64_t from_us, int64_t to_us) const {
  if (to_us <= from_us) return 0;
  int64_t total_us = 0;
  const int64_t first = floor_div(from_us + kJstUs, kDayUs);
  const int64_t last = floor_div(to_us + kJstUs, kDayUs);
  for (int64_t day = first; day <= last; ++day) {
    if (!is_business_day(civil_from_days(day))) continue;
    const int64_t start = day * kDayUs - kJstUs;
    const int64_t open = start + int64_t{options_.open_minute} * 60 * 1000000;
    const int64_t close = start + int64_t{options_.close_minute} * 60 * 1000000;
    const int64_t a = std::max(open, from_us), b = std::min(close, to_us);
    if (b > a) total_us += b - a;
  }
  return total_us / 1000000;
}

core::Result<int64_t> BusinessCalendar::add_business_seconds(int64_t from_us,
                                                             int64_t seconds) const {
  if (seconds <= 0) return from_us;
  int64_t left_us = seconds * 1000000;
  const int64_t first = floor_div(from_us + kJstUs, kDayUs);
  for (int64_t day = first; day < first + 3660; ++day) {
    if (!is_business_day(civil_from_days(day))) continue;
    const int64_t start = day * kDayUs - kJstUs;
    const int64_t open = std::max(from_us, start + int64_t{options_.open_minute} * 60 * 1000000);
    const int64_t close = start + int64_t{options_.close_minute} * 60 * 1000000;
    if (close <= open) continue;
    if (close - open >= left_us) return open + left_us;
    left_us -= close - open;
  }
  return core::make_error(
      "business calendar: no business day within ten years after {} (are all days closed?)",
      format_date(jst_date(from_us)));
}

SlaTerms sla_terms_for_plan(const PlanDeskSla& sla) {
  SlaTerms t;
  if (sla.first_response_minutes) t.first_response.seconds = sla.first_response_minutes * 60;
  if (sla.resolution_minutes) t.resolution.seconds = sla.resolution_minutes * 60;
  if (sla.security_first_response_minutes) {
    t.security_first_response.seconds = sla.security_first_response_minutes * 60;
  }
  if (sla.security_resolution_minutes) {
    t.security_resolution.seconds = sla.security_resolution_minutes * 60;
  }
  return t;
}

std::string_view sla_state_name(SlaState s) {
  switch (s) {
    case SlaState::kRunning:
      return "running";
    case SlaState::kWarning:
      return "warning";
    case SlaState::kBreached:
      return "breached";
    case SlaState::kPaused:
      return "paused";
    case SlaState::kMet:
      return "met";
    case SlaState::kMissed:
      return "missed";
  }
  return "running";
}

SlaReading read_sla(const BusinessCalendar& calendar, const SlaClock& clock, int64_t now_us,
                    int64_t warn_before_s) {
  const int64_t end = clock.stopped_us != 0 ? std::min(clock.stopped_us, now_us) : now_us;
  auto measure = [&](int64_t a, int64_t b) {
    if (b <= a) return int64_t{0};
    return clock.target.around_the_clock ? (b - a) / 1000000 : calendar.business_seconds(a, b);
  };
  int64_t elapsed = measure(clock.started_us, end);
  bool paused = false;
  for (const auto& p : clock.pauses) {
    const int64_t to = p.to_us == 0 ? end : std::min(p.to_us, end);
    const int64_t from = std::max(p.from_us, clock.started_us);
    elapsed -= measure(from, to);
    if (p.to_us == 0 && p.from_us <= end) paused = true;
  }
  elapsed = std::max<int64_t>(elapsed, 0);
  SlaReading r;
  r.elapsed_s = elapsed;
  r.remaining_s = clock.target.seconds - elapsed;
  if (clock.stopped_us != 0 && clock.stopped_us <= now_us) {
    r.state = r.remaining_s >= 0 ? SlaState::kMet : SlaState::kMissed;
    return r;
  }
  if (r.remaining_s < 0 || (r.remaining_s == 0 && clock.target.seconds > 0)) {
    r.state = SlaState::kBreached;
    return r;
  }
  if (paused) {
    r.state = SlaState::kPaused;
    return r;
  }
  if (clock.target.around_the_clock) {
    r.due_us = now_us + r.remaining_s * 1000000;
  } else if (auto due = calendar.add_business_seconds(now_us, r.remaining_s); due.ok()) {
    r.due_us = *due;
  }
  r.state = r.remaining_s <= warn_before_s ? SlaState::kWarning : SlaState::kRunning;
  return r;
}

}  // namespace mimamori::server
