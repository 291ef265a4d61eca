// PostgreSQL backend (libpq): a pool of connections with per-connection prepared statements;
// several server instances share one database, so schema migration takes an advisory lock
// and background work is claimed with FOR UPDATE SKIP LOCKED (see the shared SQL).

#include <libpq-fe.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "store/backend.h"
#include "store/migrations.h"
#include "store/sql.h"

namespace mimamori::server {
namespace {

struct PgConnection {
  PGconn* conn = nullptr;
  std::unordered_map<std::string, std::string> prepared;  // sql → statement name

  ~PgConnection() {
    if (conn) PQfinish(conn);
  }

  /// The name of `sql` prepared on this connection (prepared now when new).
  Result<const std::string*> prepared_name(std::string_view sql) {
    std::string text(sql);
    auto it = prepared.find(text);
    if (it == prepared.end()) {
      std::string name = fmt::format("s{}", prepared.size());
      PGresult* p = PQprepare(conn, name.c_str(), text.c_str(), 0, nullptr);
      bool ok = PQresultStatus(p) == PGRES_COMMAND_OK;
      std::string err = ok ? "" : PQresultErrorMessage(p);
      PQclear(p);
      if (!ok) {
        return core::make_error_code(500, "postgresql: cannot prepare '{}': {}", sql_head(sql),
                                     err);
      }
      it = prepared.emplace(std::move(text), std::move(name)).first;
    }
    return &it->second;
  }

  static std::vector<const char*> values_of(std::span<const SqlParam> params) {
    std::vector<const char*> values(params.size());
    for (size_t i = 0; i < params.size(); ++i)
      values[i] = params[i].value ? params[i].value->c_str() : nullptr;
    return values;
  }

  /// The rows of a finished statement, or its error (SQLSTATE class 23 is a 409). Clears `res`.
  static Result<SqlRows> take(PGresult* res, std::string_view sql) {
    auto status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      int code = state && std::string_view(state).starts_with("23") ? 409 : 500;
      auto err = core::make_error_code(code, "postgresql: '{}' failed: {}", sql_head(sql),
                                       res ? PQresultErrorMessage(res) : "no result");
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
    for (int i = 0; i < std::max(2, options_.connections + 2); ++i) {
      auto c = std::make_unique<PgConnection>();
      c->conn = PQconnectdb(url_.c_str());
      if (PQstatus(c->conn) != CONNECTION_OK) {
        return core::make_error("postgresql: cannot connect: {}", PQerrorMessage(c->conn));
      }
      PGresult* r = PQexec(c->conn, "SET client_min_messages = warning");
      PQclear(r);
      free_.push_back(c.get());
      all_.push_back(std::move(c));
    }
    return {};
  }

 private:
  Status DoTransact(bool write, const std::function<Status(SqlTx&)>& fn) override {
    PgConnection* c = acquire();
    Status result = [&]() -> Status {
      if (PQstatus(c->conn) != CONNECTION_OK) {
        PQreset(c->conn);
        c->prepared.clear();
        if (PQstatus(c->conn) != CONNECTION_OK) {
          return core::make_error_code(503, "postgresql: connection lost: {}",
                                       PQerrorMessage(c->conn));
        }
      }
      if (auto r = c->run(write ? "BEGIN" : "BEGIN READ ONLY", {}, false); !r.ok()) {
        return r.error();
      }
      PgTx tx(*c);
      Status st = fn(tx);
      if (!st.ok()) {
        (void)c->run("ROLLBACK", {}, false);
        return st;
      }
      if (auto r = c->run("COMMIT", {}, false); !r.ok()) return r.error();
      return {};
    }();
    release(c);
    return result;
  }

  Dialect DoDialect() const override { return Dialect::kPostgres; }

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
};

}  // namespace

Result<std::unique_ptr<StoreBackend>> open_postgres_backend(const StoreOptions& options,
                                                            std::string_view url) {
  auto backend = std::make_unique<PostgresBackend>(options, std::string(url));
  if (auto st = backend->init(); !st.ok()) return st.error();
  return std::unique_ptr<StoreBackend>(std::move(backend));
}

}  // namespace mimamori::server
