#pragma once
// Reading JSON request bodies with errors that name the member and why. Private to the API
// handlers; Boost.JSON stays out of every public header.

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/api.h"

namespace mimamori::server {

namespace json = boost::json;

/// Parses the body as a JSON object; answers 415/400 itself and returns nullopt on failure.
std::optional<json::object> read_json_object(Call& call);
/// A string member ("" when absent); sets `error` when present but not a string.
std::string get_string(const json::object& o, std::string_view key, std::string* error);
/// An integer member (`fallback` when absent); sets `error` when not an integer.
int64_t get_int(const json::object& o, std::string_view key, int64_t fallback, std::string* error);
/// JSON text of a value.
inline std::string to_text(const json::value& v) { return json::serialize(v); }
/// A JSON string value from possibly non-UTF-8 bytes (kept as is: the store holds UTF-8).
inline json::value jstr(std::string_view s) { return json::value(json::string(s)); }
/// Answers with `data` as a download (application/octet-stream, Content-Disposition:
/// attachment with the file name, nosniff, a sandboxing CSP, X-Mimamori-SHA256): desk
/// attachments and dispatch evidence are never rendered by the browser.
void respond_download(Call& call, std::string_view filename, std::string_view sha256,
                      std::string data);
/// An integer query parameter (fallback when absent or not a number).
int64_t query_int(const HttpRequest& req, std::string_view name, int64_t fallback);

}  // namespace mimamori::server

namespace mimamori::server {

/// Times in API answers: EVE form in JST, or null for 0.
json::value jtime(int64_t micros);
json::object to_json(const Customer& c);
json::object to_json(const Site& s);
json::object to_json(const Device& d);
json::object to_json(const User& u);
json::object to_json(const AlertRow& a);
json::object to_json(const Incident& i);
json::object to_json(const SuppressionRule& s);
json::object to_json(const ThreatIndicator& t);
json::object to_json(const Channel& c);
json::object to_json(const OutboxMessage& m);
json::object to_json(const AuditEntry& e);
/// `{"items": [...], "limit": n, "offset": o}` from a vector of models.
template <class T>
std::string list_json(const std::vector<T>& items, int64_t limit = -1, int64_t offset = 0) {
  json::array a;
  a.reserve(items.size());
  for (const auto& x : items) a.push_back(to_json(x));
  json::object o;
  o["items"] = std::move(a);
  if (limit >= 0) {
    o["limit"] = limit;
    o["offset"] = offset;
  }
  return to_text(o);
}

}  // namespace mimamori::server
