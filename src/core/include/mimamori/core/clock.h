#pragma once
/// Clocks: UTC inside (microseconds since the epoch), JST (+09:00) for what people read.

#include <cstdint>
#include <string>
#include <string_view>

#include "mimamori/core/result.h"

namespace mimamori::core {

/// Japan Standard Time's offset from UTC, in minutes. Japan has no daylight saving time.
inline constexpr int kJstOffsetMinutes = 9 * 60;

/// A point in time: microseconds since 1970-01-01T00:00:00Z.
struct Timestamp {
  int64_t micros = 0;

  /// Whole seconds since the epoch (rounded towards negative infinity).
  int64_t seconds() const { return micros >= 0 ? micros / 1000000 : (micros - 999999) / 1000000; }
  static Timestamp from_seconds(int64_t s) { return Timestamp{s * 1000000}; }
  auto operator<=>(const Timestamp&) const = default;
};

/// The wall clock now, in UTC.
Timestamp now();

/// Appends `ts` as EVE writes it: `2026-11-26T19:40:35.123456+0900` in the given offset.
void append_eve_time(std::string& out, Timestamp ts, int utc_offset_minutes = kJstOffsetMinutes);

/// `ts` as EVE writes it (see append_eve_time).
std::string format_eve_time(Timestamp ts, int utc_offset_minutes = kJstOffsetMinutes);

/// `ts` for people: `2026-11-27 04:40:35` in JST (or the given offset), no fraction.
std::string format_local(Timestamp ts, int utc_offset_minutes = kJstOffsetMinutes);

/// Parses ISO 8601 / RFC 3339 as EVE, Sigma data and the API use: `YYYY-MM-DDTHH:MM:SS`
/// (or a space instead of `T`), an optional fraction of up to 9 digits, and `Z`, `+hhmm`,
/// `+hh:mm` or no zone (taken as UTC).
Result<Timestamp> parse_time(std::string_view text);

/// Days since 1970-01-01 for a proleptic Gregorian date.
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);

}  // namespace mimamori::core
