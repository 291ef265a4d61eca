#pragma once
// Reading the values of rule options: blanks, comma lists, numbers, quoted strings, content
// bytes and ranges. Private to net/rules: the parser and the keyword handlers use it.

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/result.h"
#include "mimamori/net/rules/signature.h"

namespace mimamori::net::rules {

/// The blanks a rule's text allows around a value: those of std::isspace in the C locale.
/// core::trim strips space, tab, CR and LF only; rule text has always taken \v and \f as
/// blanks too, so the parser keeps this wider set.
inline constexpr std::string_view kRuleBlanks = " \t\n\v\f\r";

/// `s` without leading and trailing bytes of `blanks`.
constexpr std::string_view strip(std::string_view s, std::string_view blanks = kRuleBlanks) {
  auto first = s.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

/// `s` cut at every `sep`, each part stripped of blanks.
std::vector<std::string_view> split(std::string_view s, char sep);

/// A whole integer (blanks around it allowed, a leading '+' too; base 16 takes a 0x prefix).
template <class T>
bool parse_int(std::string_view s, T& out, int base = 10) {
  s = strip(s);
  if (base == 16 && s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

/// Any integer, with 0x prefix accepted.
template <class T>
bool parse_number(std::string_view s, T& out) {
  s = strip(s);
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return parse_int(s, out, 16);
  return parse_int(s, out, 10);
}

/// Removes the quotes around a string value and undoes \" \; \\ escapes; `what` names the
/// option in the error.
core::Result<std::string> unquote(std::string_view v, std::string_view what);

/// content:"abc|0d 0a|def" -> bytes; `!` before the quote sets `negated`.
core::Result<std::string> parse_content_bytes(std::string_view v, bool& negated);

/// A comparison as dsize, urilen, bsize, itype, icode and stream_size write it (`N`, `<N`,
/// `>=N`, `!N`, `A<>B`, ...); `what` names the option in the error.
core::Result<Range> parse_range(std::string_view v, std::string_view what);

}  // namespace mimamori::net::rules
