// Hourly aggregates: added inside each ingest commit (so late events land in their own hour
// and a replayed batch adds nothing), folded into one compact row per customer once the hour
// is over, read per customer for the console and the reports.
//
// A folded customer-hour (hourly_aggregate_blocks.data) is zstd over, integers LEB128:
//   format 1; n; n × (metric length, metric, item length, item, zigzag(value)).
// One row of some 500 bytes instead of some 50 rows of an index and a table each.

#include <zstd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <tuple>

#include "retention/retention.h"
#include "store/event_columns.h"
#include "triage/triage.h"

namespace mimamori::server {
namespace {

constexpr int64_t kHour = 3600LL * 1000000;
// Rows per INSERT: 5 parameters each, far below either backend's limit.
constexpr size_t kRowsPerInsert = 200;
constexpr int kFoldLevel = 6;

int64_t hour_of(int64_t ts) { return (ts >= 0 ? ts / kHour : (ts - kHour + 1) / kHour) * kHour; }

// (metric, item) → value of one customer-hour.
using HourItems = std::map<std::pair<std::string, std::string>, int64_t>;

std::string encode_hour(const HourItems& items) {
  std::string plain;
  put_varint(plain, 1);
  put_varint(plain, items.size());
  for (const auto& [key, value] : items) {
    put_varint(plain, key.first.size());
    plain += key.first;
    put_varint(plain, key.second.size());
    plain += key.second;
    put_varint(plain, zigzag(value));
  }
  std::string out(ZSTD_compressBound(plain.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), plain.data(), plain.size(), kFoldLevel);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

// Adds the items of a folded customer-hour to `out`.
Status decode_hour(std::string_view data, std::string_view customer, int64_t hour,
                   const std::function<void(std::string, std::string, int64_t)>& add) {
  auto damaged = [&] {
    return core::make_error("hourly aggregates of customer {} at hour {}: damaged data", customer,
                            hour);
  };
  const unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ULL << 28)) {
    return damaged();
  }
  // One context per thread: a month's read decompresses some 720 of these.
  struct FreeDctx {
    void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
  };
  thread_local std::unique_ptr<ZSTD_DCtx, FreeDctx> dctx(ZSTD_createDCtx());
  if (!dctx) return core::make_error("zstd: no decompression context");
  thread_local std::string plain;
  plain.resize(size);
  const size_t got =
      ZSTD_decompressDCtx(dctx.get(), plain.data(), plain.size(), data.data(), data.size());
  if (ZSTD_isError(got) || got != size) return damaged();
  std::string_view in = plain;
  size_t at = 0;
  uint64_t format = 0, n = 0;
  if (!get_varint(in, at, format) || format != 1 || !get_varint(in, at, n) || n > in.size()) {
    return damaged();
  }
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t len = 0, v = 0;
    if (!get_varint(in, at, len) || len > in.size() - at) return damaged();
    std::string metric(in.substr(at, len));
    at += len;
    if (!get_varint(in, at, len) || len > in.size() - at) return damaged();
    std::string item(in.substr(at, len));
    at += len;
    if (!get_varint(in, at, v)) return damaged();
    add(std::move(metric), std::move(item), unzigzag(v));
  }
  if (at != in.size()) return damaged();
  return {};
}

}  // namespace

Result<int64_t> fold_hourly_aggregates(SqlTx& tx, int64_t hour,
                                       std::span<const std::string> customers, int64_t top) {
  if (customers.empty()) return int64_t{0};
  std::vector<SqlParam> params = {sp(hour)};
  std::string in;
  for (const auto& c : customers) {
    params.push_back(sp(c));
    in += fmt::format("{}${}", in.empty() ? "" : ", ", params.size());
  }
  // The statements' texts outlive the pipeline, which holds views of them.
  const std::string read_folded =
      "SELECT customer_id, data FROM hourly_aggregate_blocks WHERE hour_start = $1 AND "
      "customer_id IN (" +
      in + ")";
  const std::string read_rows =
      "SELECT customer_id, metric, item, value FROM hourly_aggregates WHERE hour_start = $1 AND "
      "customer_id IN (" +
      in + ")";
  const std::string delete_rows =
      "DELETE FROM hourly_aggregates WHERE hour_start = $1 AND customer_id IN (" + in + ")";
  auto got = tx.pipeline(std::vector<SqlStatement>{{read_folded, params}, {read_rows, params}});
  if (!got.ok()) return got.error();
  std::map<std::string, HourItems> hours;
  const SqlRows& folded = (*got)[0];
  for (size_t r = 0; r < folded.size(); ++r) {
    const std::string customer = folded.str(r, 0);
    HourItems& items = hours[customer];
    auto s = decode_hour(blob_of(tx.dialect(), folded.str(r, 1)), customer, hour,
                         [&](std::string m, std::string i, int64_t v) {
                           items[{std::move(m), std::move(i)}] += v;
                         });
    if (!s.ok()) return s.error();
  }
  const SqlRows& rows = (*got)[1];
  for (size_t r = 0; r < rows.size(); ++r) {
    hours[rows.str(r, 0)][{rows.str(r, 1), rows.str(r, 2)}] += rows.i64(r, 3);
  }
  // Talkers and domains: the top items by value (ties by item), as the API lists them.
  int64_t cut = 0;
  std::vector<SqlStatement> writes;
  for (auto& [customer, items] : hours) {
    for (std::string_view metric : {aggregate_metric::kTalkerBytes, aggregate_metric::kDomain}) {
      std::vector<std::pair<int64_t, std::string>> ranked;
      for (const auto& [key, value] : items) {
        if (key.first == metric) ranked.emplace_back(value, key.second);
      }
      if (static_cast<int64_t>(ranked.size()) <= top) continue;
      std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      });
      for (size_t k = static_cast<size_t>(top); k < ranked.size(); ++k) {
        items.erase({std::string(metric), ranked[k].second});
        ++cut;
      }
    }
    const std::string data = encode_hour(items);
    if (data.empty()) return core::make_error("zstd: compressing hourly aggregates failed");
    writes.push_back(
        {"INSERT INTO hourly_aggregate_blocks (customer_id, hour_start, data) VALUES ($1, $2, $3) "
         "ON CONFLICT (customer_id, hour_start) DO UPDATE SET data = excluded.data",
         {sp(customer), sp(hour), sp_blob(tx.dialect(), data)}});
  }
  writes.push_back({delete_rows, params});
  if (auto w = tx.pipeline(writes); !w.ok()) return w.error();
  return cut;
}

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
  // The folded hours and the rows (open hours, and late ones of folded hours); an item of a
  // folded hour that has rows too is summed below.
  std::vector<HourlyAggregate> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    const std::vector<SqlParam> params = {sp(customer_id), sp(from), sp(to)};
    auto got = tx.pipeline(std::vector<SqlStatement>{
        {"SELECT hour_start, data FROM hourly_aggregate_blocks WHERE customer_id = $1 AND "
         "hour_start >= $2 AND hour_start < $3",
         params},
        {"SELECT hour_start, metric, item, value FROM hourly_aggregates WHERE customer_id = $1 "
         "AND hour_start >= $2 AND hour_start < $3",
         params}});
    if (!got.ok()) return got.error();
    const SqlRows& folded = (*got)[0];
    for (size_t i = 0; i < folded.size(); ++i) {
      const int64_t hour = folded.i64(i, 0);
      auto s = decode_hour(blob_of(tx.dialect(), folded.str(i, 1)), customer_id, hour,
                           [&](std::string m, std::string item, int64_t v) {
                             out.push_back(HourlyAggregate{hour, std::move(m), std::move(item), v});
                           });
      if (!s.ok()) return s;
    }
    const SqlRows& rows = (*got)[1];
    for (size_t i = 0; i < rows.size(); ++i) {
      out.push_back(
          HourlyAggregate{rows.i64(i, 0), rows.str(i, 1), rows.str(i, 2), rows.i64(i, 3)});
    }
    return {};
  });
  if (!st.ok()) return st.error();
  // Items of one hour, metric and name summed.
  auto same = [](const HourlyAggregate& a, const HourlyAggregate& b) {
    return a.hour_start == b.hour_start && a.metric == b.metric && a.item == b.item;
  };
  std::sort(out.begin(), out.end(), [](const HourlyAggregate& a, const HourlyAggregate& b) {
    if (a.hour_start != b.hour_start) return a.hour_start < b.hour_start;
    if (int c = a.metric.compare(b.metric); c != 0) return c < 0;
    return a.item < b.item;
  });
  size_t kept = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (kept > 0 && same(out[kept - 1], out[i])) {
      out[kept - 1].value += out[i].value;
    } else {
      if (kept != i) out[kept] = std::move(out[i]);
      ++kept;
    }
  }
  out.resize(kept);
  // Hour, metric, largest value first, item.
  std::sort(out.begin(), out.end(), [](const HourlyAggregate& a, const HourlyAggregate& b) {
    if (a.hour_start != b.hour_start) return a.hour_start < b.hour_start;
    if (int c = a.metric.compare(b.metric); c != 0) return c < 0;
    if (a.value != b.value) return a.value > b.value;
    return a.item < b.item;
  });
  return out;
}

}  // namespace mimamori::server
