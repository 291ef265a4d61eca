#include "mimamori/core/clock.h"

#include <chrono>
#include <cstdio>

namespace mimamori::core {
namespace {

struct Civil {
  int64_t year;
  unsigned month, day;
};

// Howard Hinnant's civil-from-days, for the proleptic Gregorian calendar.
Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

void put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

// Writes "YYYY-MM-DDTHH:MM:SS" (19 chars) for a local time in seconds; returns the micros part.
void put_datetime(char* p, int64_t local_seconds, char sep) {
  int64_t days = local_seconds >= 0 ? local_seconds / 86400 : (local_seconds - 86399) / 86400;
  int64_t sod = local_seconds - days * 86400;
  Civil c = civil_from_days(days);
  int64_t y = c.year;
  if (y < 0 || y > 9999) y = 0;  // outside what EVE can say; keeps the width fixed
  p[0] = static_cast<char>('0' + y / 1000);
  p[1] = static_cast<char>('0' + y / 100 % 10);
  p[2] = static_cast<char>('0' + y / 10 % 10);
  p[3] = static_cast<char>('0' + y % 10);
  p[4] = '-';
  put2(p + 5, c.month);
  p[7] = '-';
  put2(p + 8, c.day);
  p[10] = sep;
  put2(p + 11, static_cast<unsigned>(sod / 3600));
  p[13] = ':';
  put2(p + 14, static_cast<unsigned>(sod / 60 % 60));
  p[16] = ':';
  put2(p + 17, static_cast<unsigned>(sod % 60));
}

bool digits(std::string_view s, size_t pos, size_t n, int64_t& out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

Timestamp now() {
  auto t = std::chrono::system_clock::now().time_since_epoch();
  return Timestamp{std::chrono::duration_cast<std::chrono::microseconds>(t).count()};
}

void append_eve_time(std::string& out, Timestamp ts, int offset_min) {
  char buf[32];
  int64_t local = ts.micros + static_cast<int64_t>(offset_min) * 60 * 1000000;
  int64_t secs = local >= 0 ? local / 1000000 : (local - 999999) / 1000000;
  auto micros = static_cast<unsigned>(local - secs * 1000000);
  put_datetime(buf, secs, 'T');
  buf[19] = '.';
  for (int i = 25; i >= 20; --i) {
    buf[i] = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  int off = offset_min < 0 ? -offset_min : offset_min;
  buf[26] = offset_min < 0 ? '-' : '+';
  put2(buf + 27, static_cast<unsigned>(off / 60));
  put2(buf + 29, static_cast<unsigned>(off % 60));
  out.append(buf, 31);
}

std::string format_eve_time(Timestamp ts, int offset_min) {
  std::string s;
  append_eve_time(s, ts, offset_min);
  return s;
}

std::string format_local(Timestamp ts, int offset_min) {
  char buf[20];
  put_datetime(buf, ts.seconds() + static_cast<int64_t>(offset_min) * 60, ' ');
  return std::string(buf, 19);
}

Result<Timestamp> parse_time(std::string_view s) {
  int64_t y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != ' ' && s[10] != 't') ||
      !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
      !digits(s, 17, 2, sec)) {
    return make_error("time '{}': expected YYYY-MM-DDTHH:MM:SS", s);
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
    return make_error("time '{}': a field is out of range", s);
  }
  size_t pos = 19;
  int64_t frac_us = 0;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    int n = 0;
    int64_t scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 6) {
        frac_us += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++n;
      ++pos;
    }
    if (n == 0 || n > 9) return make_error("time '{}': bad fraction of a second", s);
  }
  int64_t offset_s = 0;
  if (pos < s.size()) {
    char c = s[pos];
    if ((c == 'Z' || c == 'z') && pos + 1 == s.size()) {
      pos += 1;
    } else if (c == '+' || c == '-') {
      int64_t oh, om;
      if (!digits(s, pos + 1, 2, oh)) return make_error("time '{}': bad zone offset", s);
      size_t mpos = pos + 3;
      if (mpos < s.size() && s[mpos] == ':') ++mpos;
      if (!digits(s, mpos, 2, om) || mpos + 2 != s.size() || oh > 23 || om > 59) {
        return make_error("time '{}': bad zone offset", s);
      }
      offset_s = (oh * 3600 + om * 60) * (c == '-' ? -1 : 1);
      pos = s.size();
    } else {
      return make_error("time '{}': unexpected text after the time", s);
    }
  }
  int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return Timestamp{secs * 1000000 + frac_us};
}

}  // namespace mimamori::core
