// The hourly aggregates of a customer (retention/): what the monthly report and the portal's
// trends read.

#include <cstdint>

#include "api/json_body.h"
#include "mimamori/core/clock.h"
#include "retention/retention.h"

namespace mimamori::server {
namespace {

constexpr int64_t kHour = 3600LL * 1000000;
constexpr int64_t kMaxRange = 400LL * 24 * kHour;

// A time parameter, or `fallback` when absent; `err` names a bad one.
int64_t time_param(const HttpRequest& req, std::string_view name, int64_t fallback,
                   std::string* err) {
  const std::string v = req.query_param(name);
  if (v.empty()) return fallback;
  auto t = core::parse_time(v);
  if (!t.ok()) {
    if (err->empty()) *err = fmt::format("query parameter '{}': {}", name, t.error().message);
    return fallback;
  }
  return t->micros;
}

}  // namespace

void h_customer_aggregates(Call& call) {
  std::string err;
  const int64_t now = core::now().micros;
  const int64_t to = time_param(call.req, "to", (now / kHour + 1) * kHour, &err);
  const int64_t from = time_param(call.req, "from", to - 24 * kHour, &err);
  if (!err.empty()) return call.error(400, err);
  if (from >= to || to - from > kMaxRange) {
    return call.error(400,
                      "query parameters 'from' and 'to': 'from' must be before 'to', at most "
                      "400 days apart");
  }
  auto rows = read_hourly_aggregates(*call.store, call.principal, call.param("id"), from, to);
  if (!rows.ok()) return call.error(rows.error());
  namespace m = aggregate_metric;
  const auto top = static_cast<size_t>(call.store->options().retention.aggregate_top);
  json::array hours;
  json::object* cur = nullptr;
  int64_t cur_hour = INT64_MIN;
  for (const auto& r : *rows) {
    if (r.hour_start != cur_hour) {
      cur_hour = r.hour_start;
      hours.push_back(json::object{{"hour", jstr(core::format_eve_time(core::Timestamp{cur_hour}))},
                                   {"events", json::object{}},
                                   {"alerts", json::object{}},
                                   {"bytes_in", 0},
                                   {"bytes_out", 0},
                                   {"top_talkers", json::array{}},
                                   {"top_domains", json::array{}}});
      cur = &hours.back().as_object();
    }
    json::object& h = *cur;
    if (r.metric == m::kEvents || r.metric == m::kAlerts) {
      h[r.metric].as_object()[r.item] = r.value;
    } else if (r.metric == m::kBytes) {
      h[r.item == "in" ? "bytes_in" : "bytes_out"] = r.value;
    } else if (r.metric == m::kTalkerBytes) {
      // Rows come largest first; the hour still open is not cut yet.
      auto& a = h["top_talkers"].as_array();
      if (a.size() < top) a.push_back(json::object{{"ip", jstr(r.item)}, {"bytes", r.value}});
    } else if (r.metric == m::kDomain) {
      auto& a = h["top_domains"].as_array();
      if (a.size() < top) a.push_back(json::object{{"name", jstr(r.item)}, {"count", r.value}});
    }
  }
  json::object o{{"customer_id", jstr(call.param("id"))},
                 {"from", jstr(core::format_eve_time(core::Timestamp{from}))},
                 {"to", jstr(core::format_eve_time(core::Timestamp{to}))},
                 {"hours", std::move(hours)}};
  call.json(200, to_text(o));
}

}  // namespace mimamori::server
