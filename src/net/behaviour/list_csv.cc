#include "behaviour/list_csv.h"

namespace mimamori::net::behaviour {
namespace {

std::string_view blank_trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::vector<std::string> csv_fields(std::string_view row) {
  std::vector<std::string> out;
  size_t at = 0;
  while (true) {
    while (at < row.size() && (row[at] == ' ' || row[at] == '\t')) ++at;
    std::string field;
    if (at < row.size() && row[at] == '"') {
      ++at;
      while (at < row.size()) {
        if (row[at] == '"') {
          if (at + 1 < row.size() && row[at + 1] == '"') {
            field += '"';
            at += 2;
            continue;
          }
          ++at;
          break;
        }
        field += row[at++];
      }
      // Anything between the closing quote and the comma (not CSV, but seen): kept.
      const size_t comma = row.find(',', at);
      field +=
          blank_trimmed(row.substr(at, comma == std::string_view::npos ? row.npos : comma - at));
      at = comma;
    } else {
      const size_t comma = row.find(',', at);
      field =
          blank_trimmed(row.substr(at, comma == std::string_view::npos ? row.npos : comma - at));
      at = comma;
    }
    out.push_back(std::move(field));
    if (at == std::string_view::npos) break;
    ++at;  // past the comma; a comma at the end leaves one empty field after it
  }
  return out;
}

}  // namespace mimamori::net::behaviour
