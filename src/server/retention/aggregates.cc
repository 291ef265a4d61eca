// Hourly aggregates: added inside each ingest commit (so late events land in their own hour
// and a replayed batch adds nothing), read per customer for the console and the reports.

#include <map>
#include <tuple>

#include "retention/retention.h"
#include "triage/triage.h"

namespace mimamori::server {
namespace {

constexpr int64_t kHour = 3600LL * 1000000;
// Rows per INSERT: 5 parameters each, far below either backend's limit.
constexpr size_t kRowsPerInsert = 200;

int64_t hour_of(int64_t ts) { return (ts >= 0 ? ts / kHour : (ts - kHour + 1) / kHour) * kHour; }

}  // namespace

Status add_hourly_aggregates(SqlTx& tx, std::span<const IngestBatch* const> group,
                             const std::vector<bool>& inserted) {
  namespace m = aggregate_metric;
  // (customer, hour, metric, item) → value; ordered, so every writer upserts in one order.
  std::map<std::tuple<std::string_view, int64_t, std::string_view, std::string_view>, int64_t> sums;
  size_t offset = 0;
  for (const IngestBatch* b : group) {
    const std::string_view customer = b->customer_id;
    for (size_t i = 0; i < b->events.size(); ++i) {
      if (!inserted[offset + i]) continue;
      const ParsedEvent& e = b->events[i];
      const int64_t h = hour_of(e.ts);
      ++sums[{customer, h, m::kEvents, e.event_type}];
      if (e.is_alert) {
        ++sums[{customer, h, m::kAlerts, Catalogue::get().classify(e.signature, e.category).name}];
      }
      if (e.bytes_toserver > 0) sums[{customer, h, m::kBytes, "out"}] += e.bytes_toserver;
      if (e.bytes_toclient > 0) sums[{customer, h, m::kBytes, "in"}] += e.bytes_toclient;
      if (!e.talker.empty() && e.bytes_toserver + e.bytes_toclient > 0) {
        sums[{customer, h, m::kTalkerBytes, e.talker}] += e.bytes_toserver + e.bytes_toclient;
      }
      if (!e.domain.empty()) ++sums[{customer, h, m::kDomain, e.domain}];
    }
    // Rejected lines are stored too, but are not telemetry.
    offset += b->events.size() + b->rejected.size();
  }
  if (sums.empty()) return {};
  std::vector<SqlParam> params;
  std::string sql;
  auto flush = [&]() -> Status {
    if (params.empty()) return {};
    sql +=
        " ON CONFLICT (customer_id, hour_start, metric, item) DO UPDATE SET value = "
        "hourly_aggregates.value + excluded.value";
    auto r = tx.query(sql, params);
    params.clear();
    sql.clear();
    if (!r.ok()) return core::make_error("adding hourly aggregates: {}", r.error().message);
    return {};
  };
  for (const auto& [key, value] : sums) {
    const auto& [customer, hour, metric, item] = key;
    if (sql.empty()) {
      sql = "INSERT INTO hourly_aggregates (customer_id, hour_start, metric, item, value) VALUES ";
    } else {
      sql += ", ";
    }
    const size_t n = params.size();
    sql += fmt::format("(${}, ${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4, n + 5);
    params.push_back(sp(customer));
    params.push_back(sp(hour));
    params.push_back(sp(metric));
    params.push_back(sp(item));
    params.push_back(sp(value));
    if (params.size() >= kRowsPerInsert * 5) {
      if (auto s = flush(); !s.ok()) return s;
    }
  }
  return flush();
}

Result<std::vector<HourlyAggregate>> read_hourly_aggregates(Store& store, const Principal& p,
                                                            std::string_view customer_id,
                                                            int64_t from, int64_t to) {
  // The customer exists and is the caller's to read (404 for another organisation, audited).
  if (auto c = store.get_customer(p, customer_id); !c.ok()) return c.error();
  std::vector<HourlyAggregate> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT hour_start, metric, item, value FROM hourly_aggregates WHERE customer_id = $1 AND "
        "hour_start >= $2 AND hour_start < $3 ORDER BY hour_start, metric, value DESC, item",
        {sp(customer_id), sp(from), sp(to)});
    if (!r.ok()) return r.error();
    out.reserve(r->size());
    for (size_t i = 0; i < r->size(); ++i) {
      out.push_back(HourlyAggregate{r->i64(i, 0), r->str(i, 1), r->str(i, 2), r->i64(i, 3)});
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

}  // namespace mimamori::server
