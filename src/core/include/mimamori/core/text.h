#pragma once
/// Small text helpers shared by every module (protocol parsers, rule and config readers).
/// ASCII only: they never look at a byte above 0x7f, so UTF-8 passes through untouched.

#include <optional>
#include <string>
#include <string_view>

namespace mimamori::core {

/// `s` without leading and trailing spaces, tabs, CR and LF.
std::string_view trim(std::string_view s);

/// True when `a` and `b` are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);

/// True when `s` starts with `prefix`, ignoring ASCII case.
bool istarts_with(std::string_view s, std::string_view prefix);

/// `s` with ASCII letters lowered.
std::string to_lower(std::string_view s);

/// Appends code point `cp` (at most U+10FFFF, not a surrogate) to `out` as UTF-8.
void append_utf8(std::string& out, char32_t cp);

/// `bytes` in standard base64 (RFC 4648, with `=` padding).
std::string base64(std::string_view bytes);

/// The bytes of standard base64 text (padded to a multiple of four characters, no spaces);
/// nullopt when it is not that.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace mimamori::core
