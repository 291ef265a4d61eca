#pragma once
// The SQL seam under Store: one transaction on one connection, portable SQL with `$1..$n`
// parameters (SQLite sees them as `?1..?n`), values passed and read as text. Backends differ
// only in connection handling and in the bulk insert of events.

#include <compare>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/result.h"

namespace mimamori::server {

using core::Result;
using core::Status;

/// Which SQL dialect a connection speaks, for the few statements that differ.
enum class Dialect { kSqlite, kPostgres };

/// One bound parameter as text (nullopt: SQL NULL). Integers are marked, because SQLite
/// compares an integer expression with a text value as unequal types.
struct SqlParam {
  std::optional<std::string> value;
  bool integer = false;
  bool blob = false;  ///< bytes for a BYTEA column (SQLite binds a blob; see sp_blob)

  SqlParam() = default;
  SqlParam(std::string s) : value(std::move(s)) {}  // NOLINT: implicit on purpose
};

/// A text parameter.
inline SqlParam sp(std::string_view s) { return SqlParam(std::string(s)); }
/// An integer parameter.
inline SqlParam sp(int64_t v) {
  SqlParam p(std::to_string(v));
  p.integer = true;
  return p;
}
/// A NULL when `s` is empty, else the text.
inline SqlParam sp_or_null(std::string_view s) { return s.empty() ? SqlParam{} : sp(s); }

/// Bytes for a BYTEA column: a blob on SQLite, PostgreSQL's hex text form (`\\x…`) there.
SqlParam sp_blob(Dialect d, std::string_view bytes);
/// The bytes of a BYTEA cell as read back (PostgreSQL answers its hex text form).
std::string blob_of(Dialect d, std::string_view cell);

/// Rows of a query, every value as text (nullopt for NULL), plus the count of changed rows.
struct SqlRows {
  std::vector<std::vector<std::optional<std::string>>> rows;
  int64_t affected = 0;

  bool empty() const { return rows.empty(); }
  size_t size() const { return rows.size(); }
  /// Text of a cell ("" for NULL).
  std::string str(size_t r, size_t c) const { return rows[r][c].value_or(std::string()); }
  /// Integer of a cell (0 for NULL or not a number).
  int64_t i64(size_t r, size_t c) const;
  bool is_null(size_t r, size_t c) const { return !rows[r][c].has_value(); }
};

/// One event row for the bulk insert.
struct EventRow {
  std::string_view device_id;
  int64_t seq = 0;
  std::string_view customer_id;
  int64_t ts = 0;
  std::string_view event_type;
  std::string_view raw;
  int64_t received_at = 0;
};

class SqlTx;

/// A stored event's key.
struct EventKey {
  std::string device_id;
  int64_t seq = 0;
  auto operator<=>(const EventKey&) const = default;
};

/// Stores events as compressed blocks (table event_blocks, see store/event_blocks.cc),
/// ignoring (device, seq) already stored in either form; sets `inserted[i]` for new rows.
/// Both backends' insert_events call it.
Status insert_event_blocks(SqlTx& tx, std::span<const EventRow> rows, std::vector<bool>& inserted);
/// The stored raw records of `keys` (missing keys are left out), from blocks or from the
/// rows of the uncompressed table of earlier versions; in the order of `keys`.
Result<std::vector<std::pair<EventKey, std::string>>> read_events(SqlTx& tx,
                                                                  std::span<const EventKey> keys);
/// An event block's contents as stored: its format (0, 1 or 2, store/event_blocks.cc) and each
/// record's text before what was left out of it is put back; for tests and measurements.
struct StoredEventBlock {
  int format = 0;
  std::vector<std::string> texts;
};
/// The contents of one block (its `data`, `first_seq` and `ts_min` columns).
Result<StoredEventBlock> stored_event_block(std::string_view data, int64_t first_seq,
                                            int64_t ts_min);
/// Every stored sequence number of a device (both forms), ascending.
Result<std::vector<int64_t>> stored_event_seqs(SqlTx& tx, std::string_view device_id);

/// One statement of a pipeline: SQL and its parameters.
struct SqlStatement {
  std::string_view sql;
  std::vector<SqlParam> params;
};

/// An open transaction. Commit happens when the function given to transact() succeeds.
class SqlTx {
 public:
  virtual ~SqlTx() = default;
  /// Runs one statement with parameters; errors name the statement's first words and why.
  virtual Result<SqlRows> query(std::string_view sql, std::span<const SqlParam> params) = 0;
  /// Shorthand with a braced list of parameters.
  Result<SqlRows> q(std::string_view sql, std::initializer_list<SqlParam> params = {}) {
    return query(sql, std::span<const SqlParam>(params.begin(), params.size()));
  }
  /// Runs statements in order, each seeing the ones before it, and returns each one's rows.
  /// PostgreSQL sends them together (one round trip per few hundred); SQLite runs them one by
  /// one. The first failure ends the run and is returned.
  virtual Result<std::vector<SqlRows>> pipeline(std::span<const SqlStatement> statements) {
    std::vector<SqlRows> out;
    out.reserve(statements.size());
    for (const auto& s : statements) {
      auto r = query(s.sql, s.params);
      if (!r.ok()) return r.error();
      out.push_back(std::move(*r));
    }
    return out;
  }
  /// Inserts events (of any devices), ignoring (device, seq) already present; sets
  /// `inserted[i]` for new rows. `contended`: an earlier attempt of the same rows failed
  /// because another writer stored some of them at the same moment; the backend then takes
  /// a path that waits for such a writer instead of failing again.
  virtual Status insert_events(std::span<const EventRow> rows, std::vector<bool>& inserted,
                               bool contended) = 0;
  virtual Dialect dialect() const = 0;
};

/// ` LIMIT n OFFSET m` of a listing's page: n in 1..1000 (100 when not positive), m >= 0.
std::string page_sql(int64_t limit, int64_t offset);

/// A first-words summary of a statement for error messages.
std::string sql_head(std::string_view sql);

}  // namespace mimamori::server
