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

  /// COPY … FROM STDIN with `data` as the whole stream; errors as for statements.
  Status copy_in(std::string_view sql, std::string_view data) {
    std::string text(sql);
    PGresult* res = PQexec(conn, text.c_str());
    if (PQresultStatus(res) != PGRES_COPY_IN) {
      auto r = take(res, sql);
      if (!r.ok()) return r.error();
      return core::make_error_code(500, "postgresql: '{}' did not start a copy", sql_head(sql));
    }
    PQclear(res);
    constexpr size_t kPiece = 1 << 20;
    bool sent = true;
    for (size_t at = 0; at < data.size() && sent; at += kPiece) {
      const size_t n = std::min(kPiece, data.size() - at);
      sent = PQputCopyData(conn, data.data() + at, static_cast<int>(n)) == 1;
    }
    sent = PQputCopyEnd(conn, sent ? nullptr : "sending failed") == 1 && sent;
    Status out;
    bool first = true;
    while (PGresult* r = PQgetResult(conn)) {
      if (first) {
        if (auto t = take(r, sql); !t.ok()) out = t.error();
        first = false;
      } else {
        PQclear(r);
      }
    }
    if (out.ok() && (!sent || first)) {
      return core::make_error_code(500, "postgresql: '{}' failed: {}", sql_head(sql),
                                   PQerrorMessage(conn));
    }
    return out;
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

void append_array_element(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

template <class T>
void put_be(std::string& out, T v) {
  for (int shift = static_cast<int>(sizeof(T) * 8) - 8; shift >= 0; shift -= 8) {
    out += static_cast<char>((v >> shift) & 0xFF);
  }
}
void put_int8(std::string& out, int64_t v) {
  put_be(out, uint32_t{8});
  put_be(out, static_cast<uint64_t>(v));
}
void put_text(std::string& out, std::string_view s) {
  put_be(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

class PgTx final : public SqlTx {
 public:
  explicit PgTx(PgConnection& c) : c_(c) {}

  Result<SqlRows> query(std::string_view sql, std::span<const SqlParam> params) override {
    return c_.run(sql, params, true);
  }

  Result<std::vector<SqlRows>> pipeline(std::span<const SqlStatement> statements) override {
    return c_.run_pipeline(statements);
  }

  // Events go in with COPY (binary), PostgreSQL's bulk path: no per-row statement, several
  // rows per WAL record. COPY knows no ON CONFLICT, so the keys already stored are asked for
  // first (one index range per run of sequence numbers) and left out, as are repeats within
  // the group. Another writer storing the same keys at the same moment (a device's retry
  // while its first attempt is queued) makes the COPY fail on the primary key; the group is
  // rolled back and its retry inserts with ON CONFLICT DO NOTHING, which waits for that
  // writer instead of failing.
  Status insert_events(std::span<const EventRow> rows, std::vector<bool>& inserted,
                       bool contended) override {
    inserted.assign(rows.size(), false);
    if (rows.empty()) return {};
    if (contended) return insert_on_conflict(rows, inserted);
    // Rows by key; the first row of a key (in group order) is the one that may be new.
    std::vector<uint32_t> order(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) order[i] = static_cast<uint32_t>(i);
    auto key_less = [&](uint32_t a, uint32_t b) {
      if (int c = rows[a].device_id.compare(rows[b].device_id); c != 0) return c < 0;
      if (rows[a].seq != rows[b].seq) return rows[a].seq < rows[b].seq;
      return a < b;
    };
    std::sort(order.begin(), order.end(), key_less);
    auto same_key = [&](uint32_t a, uint32_t b) {
      return rows[a].seq == rows[b].seq && rows[a].device_id == rows[b].device_id;
    };
    std::vector<uint32_t> unique;  // sorted by key
    unique.reserve(order.size());
    for (uint32_t i : order) {
      if (unique.empty() || !same_key(unique.back(), i)) unique.push_back(i);
    }
    // Runs of consecutive sequence numbers per device: the ranges to look up.
    std::string devs = "{", firsts = "{", lasts = "{";
    for (size_t k = 0; k < unique.size();) {
      size_t e = k + 1;
      while (e < unique.size() && rows[unique[e]].device_id == rows[unique[k]].device_id &&
             rows[unique[e]].seq == rows[unique[e - 1]].seq + 1) {
        ++e;
      }
      const char* sep = k ? "," : "";
      devs += sep;
      append_array_element(devs, rows[unique[k]].device_id);
      firsts += sep;
      firsts += std::to_string(rows[unique[k]].seq);
      lasts += sep;
      lasts += std::to_string(rows[unique[e - 1]].seq);
      k = e;
    }
    for (auto* a : {&devs, &firsts, &lasts}) *a += '}';
    SqlParam params[] = {devs, firsts, lasts};
    auto stored = c_.run(
        "SELECT e.device_id, e.seq FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS r(d, "
        "f, l) JOIN events e ON e.device_id = r.d AND e.seq BETWEEN r.f AND r.l",
        params, true);
    if (!stored.ok()) return stored.error();
    std::vector<bool> fresh(rows.size(), false);
    for (uint32_t i : unique) fresh[i] = true;
    for (size_t r = 0; r < stored->size(); ++r) {
      const std::string device = stored->str(r, 0);
      const int64_t seq = stored->i64(r, 1);
      auto it = std::lower_bound(unique.begin(), unique.end(), 0, [&](uint32_t a, int) {
        if (int c = rows[a].device_id.compare(device); c != 0) return c < 0;
        return rows[a].seq < seq;
      });
      if (it != unique.end() && rows[*it].device_id == device && rows[*it].seq == seq) {
        fresh[*it] = false;
      }
    }
    // The binary COPY stream: signature, flags, header extension; per row the field count,
    // then each field as length + bytes (integers big-endian); -1 at the end.
    std::string buf;
    size_t bytes = 32;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (fresh[i]) {
        bytes += 2 + 7 * 4 + 3 * 8 + rows[i].device_id.size() + rows[i].customer_id.size() +
                 rows[i].event_type.size() + rows[i].raw.size();
      }
    }
    buf.reserve(bytes);
    buf.append("PGCOPY\n\377\r\n\0", 11);
    put_be(buf, uint32_t{0});
    put_be(buf, uint32_t{0});
    size_t copied = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (!fresh[i]) continue;
      const auto& r = rows[i];
      put_be(buf, uint16_t{7});
      put_text(buf, r.device_id);
      put_int8(buf, r.seq);
      put_text(buf, r.customer_id);
      put_int8(buf, r.ts);
      put_text(buf, r.event_type);
      put_text(buf, r.raw);
      put_int8(buf, r.received_at);
      ++copied;
    }
    put_be(buf, uint16_t{0xFFFF});
    if (copied > 0) {
      if (auto st = c_.copy_in(
              "COPY events (device_id, seq, customer_id, ts, event_type, raw, received_at) FROM "
              "STDIN (FORMAT binary)",
              buf);
          !st.ok()) {
        return st;
      }
    }
    inserted = std::move(fresh);
    return {};
  }

  /// One statement: arrays unnested server-side, ON CONFLICT DO NOTHING, the new keys returned.
  Status insert_on_conflict(std::span<const EventRow> rows, std::vector<bool>& inserted) {
    std::string dev = "{", seq = "{", cus = "{", ts = "{", typ = "{", raw = "{", rec = "{";
    size_t bytes = 0;
    for (const auto& r : rows) bytes += r.raw.size() + 8;
    raw.reserve(bytes + bytes / 8);
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      const char* sep = i ? "," : "";
      dev += sep;
      append_array_element(dev, r.device_id);
      seq += sep;
      seq += std::to_string(r.seq);
      cus += sep;
      append_array_element(cus, r.customer_id);
      ts += sep;
      ts += std::to_string(r.ts);
      typ += sep;
      append_array_element(typ, r.event_type);
      raw += sep;
      append_array_element(raw, r.raw);
      rec += sep;
      rec += std::to_string(r.received_at);
    }
    for (auto* s : {&dev, &seq, &cus, &ts, &typ, &raw, &rec}) *s += '}';
    SqlParam params[] = {dev, seq, cus, ts, typ, raw, rec};
    auto res = c_.run(
        "INSERT INTO events (device_id, seq, customer_id, ts, event_type, raw, received_at) "
        "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], "
        "$6::text[], $7::bigint[]) ON CONFLICT DO NOTHING RETURNING device_id, seq",
        params, true);
    if (!res.ok()) return res.error();
    // Which rows were new: the answer names them by key; find each key's row.
    std::unordered_map<std::string_view, std::unordered_map<int64_t, size_t>> index;
    for (size_t i = 0; i < rows.size(); ++i) index[rows[i].device_id].emplace(rows[i].seq, i);
    for (size_t i = 0; i < res->size(); ++i) {
      auto d = index.find(res->str(i, 0));
      if (d == index.end()) continue;
      if (auto s = d->second.find(res->i64(i, 1)); s != d->second.end()) inserted[s->second] = true;
    }
    return {};
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
