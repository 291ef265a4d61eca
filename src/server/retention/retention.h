#pragma once
// Retention: how long stored rows live. Raw telemetry expires after its days (per customer and
// per event type, store.retention.*) in small batches that each hold the writer for a few
// milliseconds, so that ingest never waits long behind it; the hourly aggregates (events by
// type, alerts by category, bytes in and out, top talkers, top domains per customer) are added
// inside each ingest commit and outlive the raw events (13 months by default). Alerts,
// incidents and the audit log are never expired. The folder-level header of retention/.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/server/ingest.h"
#include "mimamori/server/store.h"
#include "store/sql.h"

namespace mimamori::server {

/// Metric names of hourly_aggregates.
namespace aggregate_metric {
inline constexpr std::string_view kEvents = "events";             ///< item: event type
inline constexpr std::string_view kAlerts = "alerts";             ///< item: alert category
inline constexpr std::string_view kBytes = "bytes";               ///< item: in, out
inline constexpr std::string_view kTalkerBytes = "talker_bytes";  ///< item: source address
inline constexpr std::string_view kDomain = "domain";             ///< item: queried name
}  // namespace aggregate_metric

/// Adds the new events of an ingest commit group to the hourly aggregates, in the caller's
/// transaction: one upsert per (customer, hour, metric, item), in key order (so that writers
/// lock rows in the same order). `inserted` as for triage_group: only new rows count.
Status add_hourly_aggregates(SqlTx& tx, std::span<const IngestBatch* const> group,
                             const std::vector<bool>& inserted);

/// Folds the rows of the closed hour `hour` of `customers` into one row per customer-hour of
/// hourly_aggregate_blocks (merged with the one already there), talkers and domains cut to
/// their top `top` items, and deletes the rows; in the caller's transaction. Answers how many
/// items were cut.
Result<int64_t> fold_hourly_aggregates(SqlTx& tx, int64_t hour,
                                       std::span<const std::string> customers, int64_t top);

/// One row of hourly_aggregates.
struct HourlyAggregate {
  int64_t hour_start = 0;  ///< UTC micros, a whole hour
  std::string metric, item;
  int64_t value = 0;
};

/// The hourly aggregates of one customer in [from, to) (hour starts, UTC micros), oldest
/// first; a customer role sees only its own organisation (404 for another).
Result<std::vector<HourlyAggregate>> read_hourly_aggregates(Store& store, const Principal& p,
                                                            std::string_view customer_id,
                                                            int64_t from, int64_t to);

/// What expiry did, per sweep or in total.
struct ExpiryStats {
  int64_t events_deleted = 0;      ///< raw events
  int64_t aggregates_deleted = 0;  ///< hourly rows (and folded customer-hours) past their days
  int64_t aggregates_cut = 0;      ///< talker and domain items below the top of their hour
  int64_t batches = 0;             ///< write transactions
  int64_t batches_over = 0;        ///< of them, held the writer longer than batch_ms
  int64_t longest_batch_us = 0;    ///< the longest hold of the writer (through its commit)
  int64_t busy_us = 0;             ///< time holding the writer
};

/// Expiry over a store: remembers between sweeps how far each rule has walked, so that rows a
/// rule keeps are read about once a day rather than at every batch.
class Expiry {
 public:
  Expiry(Store& store, RetentionOptions options);

  /// One sweep at `now` (UTC micros): expired raw events rule by rule, aggregates past their
  /// days, and the top cut of hours closed since the last sweep. `stop` is asked between
  /// batches; a stopped sweep answers what it did so far.
  Result<ExpiryStats> sweep(int64_t now, const std::function<bool()>& stop = {});
  /// Totals of every sweep so far.
  ExpiryStats totals() const;

  /// One rule: the events it selects (SQL over events, parameters from $4) and their days.
  struct Rule {
    std::string where;
    std::vector<SqlParam> params;
    int64_t days = 0;
  };
  /// The rules `options` make (days 0: kept, no rule), for the tests and the README's example.
  static std::vector<Rule> plan(const RetentionOptions& options);

 private:
  /// Runs one batch statement in its own write transaction and counts it in `st`.
  Result<SqlRows> batch(const std::string& sql, std::span<const SqlParam> params, ExpiryStats& st);
  /// Sleeps at least as long as the batch held the writer, and at least `floor_ms`.
  void pause(int64_t batch_us, int64_t floor_ms, const std::function<bool()>& stop);
  Status expire_events(int64_t now, const std::function<bool()>& stop, ExpiryStats& st);
  Status expire_aggregates(int64_t now, const std::function<bool()>& stop, ExpiryStats& st);
  Status cut_closed_hours(int64_t now, const std::function<bool()>& stop, ExpiryStats& st);

  Store& store_;
  RetentionOptions options_;
  std::vector<Rule> rules_;
  std::map<size_t, int64_t> walked_to_;  ///< rule index × 2 + table → time reached
  int64_t walked_since_ = 0;             ///< when the walks last started over
  int64_t cut_through_ = 0;              ///< hours before this have had their top cut
  int64_t batch_rows_ = 1000;            ///< events a batch; adapted to keep it under batch_ms
  int64_t events_per_block_ = 256;       ///< of the last blocks deleted: batch_rows_ in blocks
  int64_t last_statement_us_ = 0;        ///< the last batch's statement, without its commit
  mutable std::mutex totals_mu_;
  ExpiryStats totals_;
};

/// Checks retention options; the error names the key.
Status check_retention_options(const RetentionOptions& o);

}  // namespace mimamori::server
