// PostgreSQL backend (libpq): a pool of connections with per-connection prepared statements
// (at most `store.prepared_statements`, least recently used deallocated); several server
// instances share one database, so schema migration takes an advisory lock and background
// work is claimed with FOR UPDATE SKIP LOCKED (see the shared SQL). The database may go away
// (a restart, a fail-over to a promoted standby): a connection found gone is made again with
// backoff (the URL may list several hosts; target_session_attrs=read-write picks the primary),
// a transaction that had not begun is begun again, and one that was cut off answers 503 so
// that its caller can retry it.

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "mimamori/core/clock.h"
#include "mimamori/core/log.h"
#include "store/backend.h"
#include "store/migrations.h"
#include "store/sql.h"

namespace mimamori::server {
namespace {

using SteadyClock = std::chrono::steady_clock;

/// SQLSTATEs that mean the connection is gone or points at the wrong server: class 08
/// (connection exception), 57P01-57P03 (administrator or crash shutdown, cannot connect now),
/// 25006 (read-only transaction: a standby, e.g. the old primary after a fail-over).
bool lost_sqlstate(const char* state) {
  if (state == nullptr) return false;
  std::string_view s(state);
  return s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03" || s == "25006";
}

struct PgConnection {
  PGconn* conn = nullptr;
  /// Set when a statement found the connection gone: the transaction is lost, and the next
  /// use connects again first.
  bool broken = false;
  size_t max_prepared = 256;
  std::atomic<int64_t> prepared_count{0};
  /// The backend's loss count when this connection was made: a connection older than the
  /// last loss fails as part of that loss, not as a new one.
  int64_t generation = 0;

  ~PgConnection() {
    if (conn) PQfinish(conn);
  }

  /// Takes a new connection in place of the old one; the prepared statements went with it.
  void replace(PGconn* fresh) {
    if (conn) PQfinish(conn);
    conn = fresh;
    broken = false;
    prepared.clear();
    lru.clear();
    prepared_count = 0;
  }

  /// Deallocates the least recently used statements past `max_prepared`. Called between
  /// transactions, so that no statement of a running pipeline goes away under it.
  void trim_prepared() {
    while (prepared.size() > max_prepared && !lru.empty()) {
      auto it = prepared.find(lru.back());
      const std::string sql = "DEALLOCATE " + it->second.name;
      PGresult* r = PQexec(conn, sql.c_str());
      const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
      PQclear(r);
      if (!ok) {
        broken = PQstatus(conn) != CONNECTION_OK;
        return;
      }
      prepared.erase(it);
      lru.pop_back();
    }
    prepared_count = static_cast<int64_t>(prepared.size());
  }

  /// The name of `sql` prepared on this connection (prepared now when new).
  Result<const std::string*> prepared_name(std::string_view sql) {
    std::string text(sql);
    auto it = prepared.find(text);
    if (it != prepared.end()) {
      lru.splice(lru.begin(), lru, it->second.use);
      return &it->second.name;
    }
    std::string name = fmt::format("s{}", next_name++);
    PGresult* p = PQprepare(conn, name.c_str(), text.c_str(), 0, nullptr);
    if (PQresultStatus(p) != PGRES_COMMAND_OK) {
      const char* state = PQresultErrorField(p, PG_DIAG_SQLSTATE);
      const bool lost = PQstatus(conn) != CONNECTION_OK || lost_sqlstate(state);
      if (lost) broken = true;
      std::string err = PQresultErrorMessage(p);
      PQclear(p);
      return core::make_error_code(lost ? 503 : 500, "postgresql: cannot prepare '{}': {}",
                                   sql_head(sql), err);
    }
    PQclear(p);
    lru.push_front(text);
    it = prepared.emplace(std::move(text), Prepared{std::move(name), lru.begin()}).first;
    prepared_count = static_cast<int64_t>(prepared.size());
    return &it->second.name;
  }

  static std::vector<const char*> values_of(std::span<const SqlParam> params) {
    std::vector<const char*> values(params.size());
    for (size_t i = 0; i < params.size(); ++i)
      values[i] = params[i].value ? params[i].value->c_str() : nullptr;
    return values;
  }

  /// The rows of a finished statement, or its error: SQLSTATE class 23 is a 409, a lost
  /// connection a 503 (and marks the connection broken). Clears `res`.
  Result<SqlRows> take(PGresult* res, std::string_view sql) {
    auto status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
      const bool lost = PQstatus(conn) != CONNECTION_OK || lost_sqlstate(state);
      if (lost) broken = true;
      int code = lost ? 503 : state && std::string_view(state).starts_with("23") ? 409 : 500;
      auto err = core::make_error_code(code, "postgresql: '{}' failed: {}", sql_head(sql),
                                       res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
      PQclear(res);
      return err;
    }
    SqlRows out;
    int rows = PQntuples(res), cols = PQnfields(res);
    out.rows.resize(static_cast<size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      auto& row = out.rows[static_cast<size_t>(r)];
      row.reserve(static_cast<size_t>(cols));
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(res, r, c)) {
          row.emplace_back();
        } else {
          row.emplace_back(
              std::string(PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c))));
        }
      }
    }
    const char* affected = PQcmdTuples(res);
    out.affected = affected && *affected ? std::stoll(affected) : 0;
    PQclear(res);
    return out;
  }

  Result<SqlRows> run(std::string_view sql, std::span<const SqlParam> params, bool prepare) {
    auto values = values_of(params);
    PGresult* res = nullptr;
    if (prepare) {
      auto name = prepared_name(sql);
      if (!name.ok()) return name.error();
      res = PQexecPrepared(conn, (*name)->c_str(), static_cast<int>(params.size()), values.data(),
                           nullptr, nullptr, 0);
    } else {
      std::string text(sql);
      res = PQexecParams(conn, text.c_str(), static_cast<int>(params.size()), nullptr,
                         values.data(), nullptr, nullptr, 0);
    }
    return take(res, sql);
  }

  /// Statements in pipeline mode: sent back to back, one sync per chunk, so that a chunk costs
  /// one round trip instead of one per statement. Chunks stay small enough that neither side's
  /// socket buffer fills while the other is not reading (libpq blocks on a full send buffer).
  Result<std::vector<SqlRows>> run_pipeline(std::span<const SqlStatement> statements) {
    auto out = run_pipeline_chunks(statements);
    if (!out.ok() && PQstatus(conn) != CONNECTION_OK) {
      broken = true;
      return core::Error{out.error().message, 503};
    }
    return out;
  }

 private:
  struct Prepared {
    std::string name;
    std::list<std::string>::iterator use;  ///< its place in `lru`
  };
  std::unordered_map<std::string, Prepared> prepared;  // sql → statement
  std::list<std::string> lru;                          // sql, most recently used first
  uint64_t next_name = 0;

  Result<std::vector<SqlRows>> run_pipeline_chunks(std::span<const SqlStatement> statements) {
    constexpr size_t kChunk = 256;
    std::vector<SqlRows> out;
    out.reserve(statements.size());
    std::vector<const std::string*> names(statements.size());
    for (size_t i = 0; i < statements.size(); ++i) {
      auto name = prepared_name(statements[i].sql);
      if (!name.ok()) return name.error();
      names[i] = *name;
    }
    if (PQenterPipelineMode(conn) != 1) {
      return core::make_error_code(500, "postgresql: cannot enter pipeline mode: {}",
                                   PQerrorMessage(conn));
    }
    std::optional<core::Error> failure;
    for (size_t begin = 0; begin < statements.size() && !failure; begin += kChunk) {
      const size_t end = std::min(statements.size(), begin + kChunk);
      size_t sent = begin;
      for (; sent < end; ++sent) {
        const auto& st = statements[sent];
        auto values = values_of(st.params);
        if (PQsendQueryPrepared(conn, names[sent]->c_str(), static_cast<int>(st.params.size()),
                                values.data(), nullptr, nullptr, 0) != 1) {
          failure = core::Error{fmt::format("postgresql: sending '{}' failed: {}", sql_head(st.sql),
                                            PQerrorMessage(conn)),
                                500};
          break;
        }
      }
      if (PQpipelineSync(conn) != 1 && !failure) {
        failure = core::Error{
            fmt::format("postgresql: pipeline sync failed: {}", PQerrorMessage(conn)), 500};
      }
      // Every statement sent has a result (or "aborted" after a failure), then a NULL; the
      // sync point ends the chunk.
      for (size_t i = begin; i < sent; ++i) {
        PGresult* res = PQgetResult(conn);
        if (res == nullptr) {
          if (!failure) {
            failure = core::Error{fmt::format("postgresql: '{}' returned no result: {}",
                                              sql_head(statements[i].sql), PQerrorMessage(conn)),
                                  500};
          }
          break;
        }
        if (PQresultStatus(res) == PGRES_PIPELINE_ABORTED) {
          PQclear(res);
        } else {
          auto rows = take(res, statements[i].sql);
          if (rows.ok()) {
            out.push_back(std::move(*rows));
          } else if (!failure) {
            failure = rows.error();
          }
        }
        while (PGresult* extra = PQgetResult(conn)) PQclear(extra);
      }
      // Up to the sync result (anything else left would be a protocol surprise: drop it).
      while (PGresult* res = PQgetResult(conn)) {
        const bool sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
        PQclear(res);
        if (sync) break;
      }
    }
    if (PQexitPipelineMode(conn) != 1 && !failure) {
      failure = core::Error{
          fmt::format("postgresql: cannot leave pipeline mode: {}", PQerrorMessage(conn)), 500};
    }
    if (failure) return *failure;
    return out;
  }
};

class PgTx final : public SqlTx {
 public:
  explicit PgTx(PgConnection& c) : c_(c) {}

  Result<SqlRows> query(std::string_view sql, std::span<const SqlParam> params) override {
    return c_.run(sql, params, true);
  }

  Result<std::vector<SqlRows>> pipeline(std::span<const SqlStatement> statements) override {
    return c_.run_pipeline(statements);
  }

  // Events go in as compressed blocks (store/event_blocks.cc); its per-device advisory
  // locks make a racing writer wait, so `contended` needs no other path.
  Status insert_events(std::span<const EventRow> rows, std::vector<bool>& inserted,
                       bool /*contended*/) override {
    return insert_event_blocks(*this, rows, inserted);
  }

  Dialect dialect() const override { return Dialect::kPostgres; }

 private:
  PgConnection& c_;
};

class PostgresBackend final : public StoreBackend {
 public:
  PostgresBackend(const StoreOptions& options, std::string url)
      : options_(options), url_(std::move(url)) {}

  Status init() {
    // The URL itself first: a malformed one is a configuration error whether or not the
    // database answers.
    char* parse_error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(url_.c_str(), &parse_error);
    if (parsed == nullptr) {
      std::string why = parse_error ? one_line(parse_error) : "out of memory";
      if (parse_error) PQfreemem(parse_error);
      return core::make_error(
          "postgresql: store.url is neither a libpq URL nor a connection string: {}", why);
    }
    where_ = describe(parsed);
    PQconninfoFree(parsed);
    for (int i = 0; i < std::max(2, options_.connections + 2); ++i) {
      auto c = std::make_unique<PgConnection>();
      c->max_prepared = static_cast<size_t>(std::max(1, options_.prepared_statements));
      PGconn* conn = connect();
      if (PQstatus(conn) != CONNECTION_OK) {
        std::string why = one_line(PQerrorMessage(conn));
        PQfinish(conn);
        if (pg_configuration_error(why)) {
          return core::make_error(
              "postgresql: the database at {} refuses the connection: {} (a configuration "
              "error, not an outage: check store.url, the password file and pg_hba.conf)",
              where_, why);
        }
        if (i > 0 || !options_.wait_for_database) {
          return core::make_error("postgresql: cannot connect to {}: {}", where_, why);
        }
        start_down(why);
        return {};
      }
      c->replace(conn);
      free_.push_back(c.get());
      all_.push_back(std::move(c));
    }
    {
      std::lock_guard lock(state_mu_);
      state_.server = server_of(all_.front()->conn);
    }
    return {};
  }

 private:
  /// A new connection: the store URL (either form, several hosts allowed) expanded after
  /// defaults that it may override: a connect timeout, so that a host that does not answer
  /// costs seconds and the next host is tried, and TCP keepalives, so that a primary gone
  /// without closing its connections is noticed.
  PGconn* connect() const {
    const char* keys[] = {"connect_timeout",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "dbname",
                          nullptr};
    const char* values[] = {"5", "1", "10", "5", "3", url_.c_str(), nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, 1);
    if (PQstatus(conn) == CONNECTION_OK) {
      PGresult* r = PQexec(conn, "SET client_min_messages = warning");
      PQclear(r);
    }
    return conn;
  }

  static std::string server_of(PGconn* conn) {
    const char* host = PQhost(conn);
    const char* port = PQport(conn);
    return fmt::format("{}:{}", host ? host : "?", port ? port : "?");
  }

  static std::string one_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::replace(text.begin(), text.end(), '\n', ' ');
    return text;
  }

  /// The database, user and hosts of a parsed URL, for the log (never its password).
  static std::string describe(const PQconninfoOption* opts) {
    std::string host, port, dbname, user;
    for (const PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
      const std::string_view k = o->keyword;
      const std::string v = o->val ? o->val : "";
      if (k == "host" || k == "hostaddr") {
        if (host.empty()) host = v;
      } else if (k == "port") {
        port = v;
      } else if (k == "dbname") {
        dbname = v;
      } else if (k == "user") {
        user = v;
      }
    }
    return fmt::format("{}:{} (database '{}', user '{}')", host.empty() ? "localhost" : host,
                       port.empty() ? "5432" : port, dbname.empty() ? user : dbname, user);
  }

  /// The database does not answer at start: every connection of the pool is made when it
  /// does, the first use of each trying (with the backoff of `reconnect`).
  void start_down(const std::string& why) {
    for (int i = 0; i < std::max(2, options_.connections + 2); ++i) {
      auto c = std::make_unique<PgConnection>();
      c->max_prepared = static_cast<size_t>(std::max(1, options_.prepared_statements));
      c->broken = true;
      free_.push_back(c.get());
      all_.push_back(std::move(c));
    }
    std::lock_guard lock(state_mu_);
    state_.up = false;
    state_.since_us = core::now().micros;
    state_.last_error = why;
    down_at_ = SteadyClock::now();
    waiting_since_start_ = true;
    spdlog::warn(
        "postgresql: waiting for the database at {}: it does not answer ({}); starting without "
        "it: health reports it down and requests that need it get 503 until it answers, then "
        "the schema is migrated (attempts every {} ms at most)",
        where_, why, options_.reconnect_max_ms);
  }

  /// A connection went away (or answered as a standby): the database is down from now until
  /// a connection is made again.
  void note_lost(const PgConnection& c, const std::string& why) {
    std::lock_guard lock(state_mu_);
    if (!state_.up || c.generation < state_.lost) return;
    state_.up = false;
    state_.since_us = core::now().micros;
    ++state_.lost;
    state_.last_error = one_line(why);
    down_at_ = SteadyClock::now();
    spdlog::warn("postgresql: the database at {} went away ({}); connecting again", state_.server,
                 state_.last_error);
  }

  /// Connects `c` again, at most one attempt per backoff step over all connections (the
  /// step doubles from 50 ms up to `reconnect_max_ms` while attempts fail). 503 meanwhile.
  Status reconnect(PgConnection& c) {
    {
      std::lock_guard lock(state_mu_);
      const auto now = SteadyClock::now();
      if (now < next_attempt_) {
        const auto wait =
            std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now).count();
        ++state_.unavailable;
        return core::make_error_code(
            503, "postgresql: the database is unavailable ({}); next attempt in {} ms",
            state_.last_error, wait);
      }
      // The attempt itself may take up to the connect timeout: the others wait for it.
      next_attempt_ = now + std::chrono::seconds(5);
    }
    const bool first = c.conn == nullptr;  // never connected: the database was away at start
    PGconn* conn = connect();
    std::lock_guard lock(state_mu_);
    const auto now = SteadyClock::now();
    if (PQstatus(conn) != CONNECTION_OK) {
      const std::string why = one_line(PQerrorMessage(conn));
      PQfinish(conn);
      backoff_ms_ = std::clamp<int64_t>(backoff_ms_ * 2, 50,
                                        std::max<int64_t>(50, options_.reconnect_max_ms));
      next_attempt_ = now + std::chrono::milliseconds(backoff_ms_);
      if (state_.up) {
        state_.up = false;
        state_.since_us = core::now().micros;
        ++state_.lost;
        down_at_ = now;
      }
      if (why != state_.last_error) {
        if (pg_configuration_error(why)) {
          spdlog::error(
              "postgresql: the database at {} refuses the connection: {} (a configuration "
              "error, not an outage: check store.url, the password file and pg_hba.conf); "
              "trying again every {} ms at most",
              where_, why, options_.reconnect_max_ms);
        } else {
          spdlog::warn("postgresql: cannot connect ({}); trying again every {} ms at most", why,
                       options_.reconnect_max_ms);
        }
      }
      state_.last_error = why;
      ++state_.unavailable;
      return core::make_error_code(503, "postgresql: the database is unavailable: {}", why);
    }
    c.replace(conn);
    c.generation = state_.lost;
    backoff_ms_ = 0;
    next_attempt_ = now;
    if (!first) ++state_.reconnects;
    state_.server = server_of(conn);
    if (!state_.up) {
      state_.up = true;
      state_.since_us = core::now().micros;
      const double waited = std::chrono::duration<double>(now - down_at_).count();
      if (waiting_since_start_) {
        spdlog::warn("postgresql: connected to {} after waiting {:.1f} s since start",
                     state_.server, waited);
        waiting_since_start_ = false;
      } else {
        spdlog::warn("postgresql: connected again to {} after {:.1f} s without the database",
                     state_.server, waited);
      }
    }
    return {};
  }

  Status DoTransact(bool write, const std::function<Status(SqlTx&)>& fn) override {
    PgConnection* c = acquire();
    Status result = run_transaction(*c, write, fn);
    release(c);
    return result;
  }

  Status run_transaction(PgConnection& c, bool write, const std::function<Status(SqlTx&)>& fn) {
    // A connection found gone before `fn` ran is made again and the transaction begun once
    // more: nothing of it reached the database, so that is always safe.
    for (int attempt = 0;; ++attempt) {
      if (c.broken || PQstatus(c.conn) != CONNECTION_OK) {
        if (auto st = reconnect(c); !st.ok()) return st;
      }
      c.trim_prepared();
      auto r = c.run(write ? "BEGIN" : "BEGIN READ ONLY", {}, false);
      if (r.ok()) break;
      if (!c.broken) return r.error();
      note_lost(c, r.error().message);
      if (attempt > 0) return unavailable(r.error().message);
    }
    PgTx tx(c);
    Status st = fn(tx);
    if (!st.ok()) {
      // Gone in the middle: the database rolled the transaction back. The caller decides
      // whether to run it again (ingest does: its batches are idempotent); a 503 says so.
      if (c.broken) {
        note_lost(c, st.error().message);
        return unavailable(st.error().message);
      }
      (void)c.run("ROLLBACK", {}, false);
      return st;
    }
    if (auto r = c.run("COMMIT", {}, false); !r.ok()) {
      if (c.broken) {
        note_lost(c, r.error().message);
        return unavailable("the commit's outcome is unknown: " + r.error().message);
      }
      return r.error();
    }
    return {};
  }

  core::Error unavailable(const std::string& why) {
    {
      std::lock_guard lock(state_mu_);
      ++state_.unavailable;
    }
    return core::Error{fmt::format("postgresql: the database connection was lost: {}", why), 503};
  }

  Dialect DoDialect() const override { return Dialect::kPostgres; }

  DatabaseState DoState() const override {
    std::lock_guard lock(state_mu_);
    DatabaseState s = state_;
    s.prepared = 0;
    for (const auto& c : all_) s.prepared += c->prepared_count.load();
    return s;
  }

  Status DoMigrate() override {
    return DoTransact(true, [](SqlTx& tx) -> Status {
      // Several instances may start at once: one migrates, the others wait and find it done.
      if (auto r = tx.q("SELECT pg_advisory_xact_lock(7262736)"); !r.ok()) return r.error();
      return apply_migrations(tx);
    });
  }

  PgConnection* acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty(); });
    PgConnection* c = free_.back();
    free_.pop_back();
    return c;
  }
  void release(PgConnection* c) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(c);
    }
    cv_.notify_one();
  }

  StoreOptions options_;
  std::string url_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PgConnection*> free_;
  std::vector<std::unique_ptr<PgConnection>> all_;

  mutable std::mutex state_mu_;
  DatabaseState state_;
  SteadyClock::time_point next_attempt_{};
  SteadyClock::time_point down_at_{};
  int64_t backoff_ms_ = 0;
  /// No connection was made yet: the database did not answer at start (start_down).
  bool waiting_since_start_ = false;
  std::string where_;  ///< hosts, database and user of the URL, for the log
};

}  // namespace

bool pg_configuration_error(std::string_view why) {
  // libpq's and the server's words (lc_messages C, the default of Debian's clusters) for a
  // connection the database refused on purpose; everything else (refused, timed out, starting
  // up, shutting down, a standby, too many clients) passes.
  static constexpr std::string_view kRefusals[] = {
      "password authentication failed",
      "authentication failed for user",
      "no password supplied",
      "does not exist",  // database or role
      "no pg_hba.conf entry",
      "permission denied for database",
      "is not permitted to log in",
      "invalid connection option",
      "invalid integer value",
      "invalid port number",
      "but SSL was required",
  };
  return std::any_of(std::begin(kRefusals), std::end(kRefusals),
                     [&](std::string_view w) { return why.find(w) != std::string_view::npos; });
}

Result<std::unique_ptr<StoreBackend>> open_postgres_backend(const StoreOptions& options,
                                                            std::string_view url) {
  auto backend = std::make_unique<PostgresBackend>(options, std::string(url));
  if (auto st = backend->init(); !st.ok()) return st.error();
  return std::unique_ptr<StoreBackend>(std::move(backend));
}

}  // namespace mimamori::server
