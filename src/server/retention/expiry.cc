// Expiry of raw events and hourly aggregates in batches (see retention.h). Both backends take
// batched deletes over the events_ts index rather than dropping whole partitions: a day's
// partition holds every customer's events, and customers whose contracts keep them longer
// (or event types kept longer) would still need deletes inside it; a partitioned events table
// could also not keep (device_id, seq) unique, the key that makes ingest idempotent.

#include <algorithm>
#include <chrono>
#include <thread>

#include "mimamori/core/clock.h"
#include "mimamori/core/log.h"
#include "retention/retention.h"

namespace mimamori::server {
namespace {

constexpr int64_t kDay = 86400LL * 1000000;
constexpr int64_t kHour = 3600LL * 1000000;
constexpr int64_t kMinBatch = 50, kMaxBatch = 20000;
// A few closed hours are left for devices that send late before their top is cut.
constexpr int64_t kCutAfterHours = 2;
constexpr int64_t kCutLookbackHours = 48;
// Customers whose hour is cut and folded in one transaction.
constexpr size_t kCutCustomers = 20;

// The raw records behind alerts: kept with alert_days, not raw_days.
constexpr std::string_view kAlertTypes[] = {"alert", "ransomware"};

// Builds a rule's condition with its parameters numbered from $4.
class RuleBuilder {
 public:
  std::string param(std::string_view v) {
    params_.push_back(sp(v));
    return fmt::format("${}", params_.size() + 3);
  }
  std::string list(const std::vector<std::string>& values) {
    std::string out;
    for (const auto& v : values) out += (out.empty() ? "" : ", ") + param(v);
    return out;
  }
  Expiry::Rule done(std::string where, int64_t days) {
    Expiry::Rule r{std::move(where), std::move(params_), days};
    params_.clear();
    return r;
  }

 private:
  std::vector<SqlParam> params_;
};

// The three kinds of rule of one scope (every customer without its own rules, or one
// customer): named types, the alert types not named, every other type.
void plan_scope(const std::map<std::string, int64_t, std::less<>>& types, int64_t raw_days,
                int64_t alert_days, const std::function<std::string(RuleBuilder&)>& scope,
                std::vector<Expiry::Rule>& out) {
  RuleBuilder b;
  std::vector<std::string> named, alert_rest;
  for (const auto& [type, days] : types) {
    named.push_back(type);
    if (days > 0) {
      std::string where = scope(b);
      where += fmt::format(" AND event_type = {}", b.param(type));
      out.push_back(b.done(std::move(where), days));
    }
  }
  for (auto t : kAlertTypes) {
    if (!types.contains(t)) alert_rest.emplace_back(t);
  }
  if (alert_days > 0 && !alert_rest.empty()) {
    std::string where = scope(b);
    where += fmt::format(" AND event_type IN ({})", b.list(alert_rest));
    out.push_back(b.done(std::move(where), alert_days));
  }
  if (raw_days > 0) {
    std::vector<std::string> not_raw = named;
    not_raw.insert(not_raw.end(), alert_rest.begin(), alert_rest.end());
    std::string where = scope(b);
    where += fmt::format(" AND event_type NOT IN ({})", b.list(not_raw));
    out.push_back(b.done(std::move(where), raw_days));
  }
}

int64_t elapsed_us(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               since)
      .count();
}

}  // namespace

Status check_retention_options(const RetentionOptions& o) {
  auto check_days = [](std::string_view key, int64_t v) -> Status {
    if (v < 0 || v > 100 * 366) {
      return core::make_error("key 'store.retention.{}': days must be 0 (forever) to 36600, got {}",
                              key, v);
    }
    return {};
  };
  if (auto s = check_days("raw_days", o.raw_days); !s.ok()) return s;
  if (auto s = check_days("alert_days", o.alert_days); !s.ok()) return s;
  if (auto s = check_days("aggregate_days", o.aggregate_days); !s.ok()) return s;
  for (const auto& [t, d] : o.type_days) {
    if (auto s = check_days(fmt::format("types.{}", t), d); !s.ok()) return s;
  }
  for (const auto& [c, r] : o.customers) {
    if (r.days != -1) {
      if (auto s = check_days(fmt::format("customers.{}.days", c), r.days); !s.ok()) return s;
    }
    for (const auto& [t, d] : r.type_days) {
      if (auto s = check_days(fmt::format("customers.{}.types.{}", c, t), d); !s.ok()) return s;
    }
  }
  if (o.aggregate_top < 1 || o.aggregate_top > 10000) {
    return core::make_error("key 'store.retention.aggregate_top': must be 1 to 10000, got {}",
                            o.aggregate_top);
  }
  if (o.interval_s < 1) {
    return core::make_error("key 'store.retention.interval_s': must be at least 1, got {}",
                            o.interval_s);
  }
  if (o.batch_ms < 1 || o.batch_ms > 10000 || o.pause_ms < 0 || o.pause_ms > 60000) {
    return core::make_error(
        "keys 'store.retention.batch_ms' (1 to 10000) and 'pause_ms' (0 to 60000): got {} and {}",
        o.batch_ms, o.pause_ms);
  }
  return {};
}

std::vector<Expiry::Rule> Expiry::plan(const RetentionOptions& o) {
  std::vector<Rule> out;
  std::vector<std::string> ruled;
  for (const auto& [id, rule] : o.customers) {
    ruled.push_back(id);
    // A customer's own days replace the global rules; its own types win over everything.
    const bool own_days = rule.days >= 0;
    auto types = own_days ? rule.type_days : o.type_days;
    if (!own_days) {
      for (const auto& [t, d] : rule.type_days) types[t] = d;
    }
    plan_scope(
        types, own_days ? rule.days : o.raw_days, o.alert_days,
        [&](RuleBuilder& b) { return fmt::format("customer_id = {}", b.param(id)); }, out);
  }
  plan_scope(
      o.type_days, o.raw_days, o.alert_days,
      [&](RuleBuilder& b) {
        return ruled.empty() ? std::string("1 = 1")
                             : fmt::format("customer_id NOT IN ({})", b.list(ruled));
      },
      out);
  return out;
}

Expiry::Expiry(Store& store, RetentionOptions options)
    : store_(store), options_(std::move(options)), rules_(plan(options_)) {}

ExpiryStats Expiry::totals() const {
  std::lock_guard lock(totals_mu_);
  return totals_;
}

Result<SqlRows> Expiry::batch(const std::string& sql, std::span<const SqlParam> params,
                              ExpiryStats& st) {
  SqlRows rows;
  // From the moment the write transaction is ours (not while waiting for another writer)
  // through its commit.
  std::chrono::steady_clock::time_point held;
  auto s = store_.transact(true, [&](SqlTx& tx) -> Status {
    held = std::chrono::steady_clock::now();
    auto r = tx.query(sql, params);
    if (!r.ok()) return r.error();
    rows = std::move(*r);
    last_statement_us_ = elapsed_us(held);
    return {};
  });
  const int64_t us = elapsed_us(held);
  if (!s.ok()) return s.error();
  ++st.batches;
  if (us > options_.batch_ms * 1000) ++st.batches_over;
  st.busy_us += us;
  st.longest_batch_us = std::max(st.longest_batch_us, us);
  return rows;
}

void Expiry::pause(int64_t batch_us, int64_t floor_ms, const std::function<bool()>& stop) {
  // At least as long as the batch: ingest gets the writer at least half of the time.
  int64_t ms = std::max(floor_ms, batch_us / 1000 + 1);
  while (ms > 0 && !(stop && stop())) {
    int64_t step = std::min<int64_t>(ms, 20);
    std::this_thread::sleep_for(std::chrono::milliseconds(step));
    ms -= step;
  }
}

Status Expiry::expire_events(int64_t now, const std::function<bool()>& stop, ExpiryStats& st) {
  // A rule walks event times upwards from where it stopped; once a day it starts over, for
  // events that arrived late with old times.
  if (now - walked_since_ >= kDay) {
    walked_to_.clear();
    walked_since_ = now;
  }
  const bool sqlite = store_.dialect() == Dialect::kSqlite;
  // Events are stored in blocks (event_blocks); the rows of the uncompressed table of earlier
  // versions expire by the same rules until none is left.
  bool legacy = false;
  if (auto s = store_.transact(false,
                               [&](SqlTx& tx) -> Status {
                                 auto r = tx.q("SELECT 1 FROM events LIMIT 1");
                                 if (!r.ok()) return r.error();
                                 legacy = !r->empty();
                                 return {};
                               });
      !s.ok()) {
    return s;
  }
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    const int64_t cutoff = now - rule.days * kDay;
    for (int table = 0; table < (legacy ? 2 : 1); ++table) {
      const bool blocks = table == 0;
      // A block goes when its newest event is due, so no event goes before its time.
      const std::string sql =
          blocks ? std::string("DELETE FROM event_blocks WHERE ") +
                       (sqlite ? "rowid IN (SELECT rowid"
                               : "(device_id, first_seq) IN (SELECT device_id, first_seq") +
                       " FROM event_blocks WHERE ts_max >= $1 AND ts_max < $2 AND " + rule.where +
                       " ORDER BY ts_max LIMIT $3) RETURNING ts_max, events"
                 : std::string("DELETE FROM events WHERE ") +
                       (sqlite ? "rowid IN (SELECT rowid"
                               : "(device_id, seq) IN (SELECT device_id, seq") +
                       " FROM events WHERE ts >= $1 AND ts < $2 AND " + rule.where +
                       " ORDER BY ts LIMIT $3) RETURNING ts, 1";
      int64_t& lo =
          walked_to_.try_emplace(i * 2 + static_cast<size_t>(table), INT64_MIN).first->second;
      while (!(stop && stop())) {
        // batch_rows_ counts events; a block holds events_per_block_ of them on average.
        const int64_t limit =
            blocks ? std::max<int64_t>(1, batch_rows_ / std::max<int64_t>(1, events_per_block_))
                   : batch_rows_;
        std::vector<SqlParam> params = {sp(lo), sp(cutoff), sp(limit)};
        params.insert(params.end(), rule.params.begin(), rule.params.end());
        const int64_t held_before = st.busy_us;
        auto r = batch(sql, params, st);
        if (!r.ok()) return r.error();
        const int64_t us = st.busy_us - held_before;
        if (r->empty()) break;
        int64_t events = 0;
        for (size_t k = 0; k < r->size(); ++k) {
          lo = std::max(lo, r->i64(k, 0));
          events += r->i64(k, 1);
        }
        st.events_deleted += events;
        if (blocks)
          events_per_block_ = std::max<int64_t>(1, events / static_cast<int64_t>(r->size()));
        // Keep each batch under batch_ms: halve past it, grow while well under. The deletes'
        // own time decides, not the commit's sync, which fewer rows would not shorten.
        const int64_t stmt_us = last_statement_us_;
        if (stmt_us > options_.batch_ms * 1000) {
          batch_rows_ = std::max(kMinBatch, batch_rows_ / 2);
        } else if (stmt_us < options_.batch_ms * 400 && r->size() == static_cast<size_t>(limit)) {
          batch_rows_ = std::min(kMaxBatch, batch_rows_ * 3 / 2);
        }
        if (r->size() < static_cast<size_t>(limit)) break;  // nothing more before the cutoff
        pause(us, options_.pause_ms, stop);
      }
    }
  }
  return {};
}

Status Expiry::expire_aggregates(int64_t now, const std::function<bool()>& stop, ExpiryStats& st) {
  if (options_.aggregate_days <= 0) return {};
  const int64_t cutoff = now - options_.aggregate_days * kDay;
  const bool sqlite = store_.dialect() == Dialect::kSqlite;
  // The rows, then the folded customer-hours (one row each, some 50 rows' worth).
  for (const bool folded : {false, true}) {
    const std::string sql =
        folded ? std::string("DELETE FROM hourly_aggregate_blocks WHERE ") +
                     (sqlite ? "rowid IN (SELECT rowid"
                             : "(customer_id, hour_start) IN (SELECT customer_id, hour_start") +
                     " FROM hourly_aggregate_blocks WHERE hour_start < $1 LIMIT $2) RETURNING 1"
               : std::string("DELETE FROM hourly_aggregates WHERE ") +
                     (sqlite ? "rowid IN (SELECT rowid"
                             : "(customer_id, hour_start, metric, item) IN (SELECT "
                               "customer_id, hour_start, metric, item") +
                     " FROM hourly_aggregates WHERE hour_start < $1 LIMIT $2) RETURNING 1";
    while (!(stop && stop())) {
      const int64_t limit = folded ? std::max<int64_t>(1, batch_rows_ / 50) : batch_rows_;
      const std::vector<SqlParam> params = {sp(cutoff), sp(limit)};
      const int64_t held_before = st.busy_us;
      auto r = batch(sql, params, st);
      if (!r.ok()) return r.error();
      st.aggregates_deleted += static_cast<int64_t>(r->size());
      if (r->size() < static_cast<size_t>(limit)) break;
      pause(st.busy_us - held_before, options_.pause_ms, stop);
    }
  }
  return {};
}

Status Expiry::cut_closed_hours(int64_t now, const std::function<bool()>& stop, ExpiryStats& st) {
  const int64_t last = (now / kHour - kCutAfterHours) * kHour;  // hours before it are closed
  int64_t h = std::max(cut_through_, last - kCutLookbackHours * kHour);
  for (; h < last && !(stop && stop()); h += kHour) {
    std::vector<std::string> customers;
    auto s = store_.transact(false, [&](SqlTx& tx) -> Status {
      auto r =
          tx.q("SELECT DISTINCT customer_id FROM hourly_aggregates WHERE hour_start = $1", {sp(h)});
      if (!r.ok()) return r.error();
      for (size_t i = 0; i < r->size(); ++i) customers.push_back(r->str(i, 0));
      return {};
    });
    if (!s.ok()) return s.error();
    // Each customer's hour cut to its top items and folded into one row, kCutCustomers
    // customers a write transaction.
    for (size_t at = 0; at < customers.size() && !(stop && stop()); at += kCutCustomers) {
      const std::span<const std::string> some(customers.data() + at,
                                              std::min(kCutCustomers, customers.size() - at));
      std::chrono::steady_clock::time_point held;
      int64_t cut = 0;
      auto f = store_.transact(true, [&](SqlTx& tx) -> Status {
        held = std::chrono::steady_clock::now();
        auto r = fold_hourly_aggregates(tx, h, some, options_.aggregate_top);
        if (!r.ok()) return r.error();
        cut = *r;
        return {};
      });
      const int64_t us = elapsed_us(held);
      if (!f.ok()) return f.error();
      ++st.batches;
      if (us > options_.batch_ms * 1000) ++st.batches_over;
      st.busy_us += us;
      st.longest_batch_us = std::max(st.longest_batch_us, us);
      st.aggregates_cut += cut;
      // An hour's fold is small: a pause as long as it took, not pause_ms.
      pause(us, 0, stop);
    }
    if (!(stop && stop())) cut_through_ = h + kHour;
  }
  return {};
}

Result<ExpiryStats> Expiry::sweep(int64_t now, const std::function<bool()>& stop) {
  ExpiryStats st;
  Status s;
  if (options_.enabled) {
    s = expire_events(now, stop, st);
    if (s.ok()) s = expire_aggregates(now, stop, st);
  }
  if (s.ok()) s = cut_closed_hours(now, stop, st);
  {
    std::lock_guard lock(totals_mu_);
    totals_.events_deleted += st.events_deleted;
    totals_.aggregates_deleted += st.aggregates_deleted;
    totals_.aggregates_cut += st.aggregates_cut;
    totals_.batches += st.batches;
    totals_.batches_over += st.batches_over;
    totals_.busy_us += st.busy_us;
    totals_.longest_batch_us = std::max(totals_.longest_batch_us, st.longest_batch_us);
  }
  if (!s.ok()) return core::make_error("retention sweep: {}", s.error().message);
  return st;
}

}  // namespace mimamori::server
