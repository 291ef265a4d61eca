#pragma once
// Private to behaviour/: the fields of one CSV row of an indicator or hash list feed.

#include <string>
#include <string_view>
#include <vector>

namespace mimamori::net::behaviour {

/// The fields of a CSV row (RFC 4180): separated by commas, each optionally in double quotes,
/// inside which a comma is part of the field and "" is one quote; blanks around a field (and
/// around its quotes) are dropped. An unterminated quote runs to the end of the row.
std::vector<std::string> csv_fields(std::string_view row);

}  // namespace mimamori::net::behaviour
