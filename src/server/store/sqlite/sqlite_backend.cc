// SQLite backend: WAL so that readers never wait for the writer, a small pool of connections
// with cached prepared statements, and one ingest writer thread (started by the ingest queue) whose
// batched transactions carry almost all the write load. WAL checkpoints (copying committed
// pages into the database file, with its fsync) run on a thread of their own, so that a
// commit only appends to the WAL and syncs it.

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "mimamori/core/log.h"
#include "secrets.h"
#include "store/backend.h"
#include "store/migrations.h"
#include "store/sql.h"

namespace mimamori::server {
namespace {

// WAL pages after a commit that wake the checkpoint thread: small steps, so that each
// checkpoint's sync of the database file is short.
constexpr int kCheckpointPages = 256;
// The WAL starts over only when a write begins with everything in it copied; under a steady
// stream that moment may not come while the checkpoint thread copies beside the writer. Past
// this size the committing connection checkpoints the (mostly copied) rest itself, so the
// WAL stays bounded.
constexpr int kWriterCheckpointPages = 4000;

// `$12` → `?12`: the portable SQL uses PostgreSQL's numbered parameters.
std::string to_sqlite_params(std::string_view sql) {
  std::string out(sql);
  for (auto& c : out) {
    if (c == '$') c = '?';
  }
  return out;
}

struct Connection {
  sqlite3* db = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> stmts;

  ~Connection() {
    for (auto& [_, s] : stmts) sqlite3_finalize(s);
    if (db) sqlite3_close_v2(db);
  }

  Result<sqlite3_stmt*> prepare(std::string_view sql) {
    auto it = stmts.find(std::string(sql));
    if (it != stmts.end()) return it->second;
    sqlite3_stmt* s = nullptr;
    std::string text = to_sqlite_params(sql);
    if (sqlite3_prepare_v2(db, text.c_str(), static_cast<int>(text.size()), &s, nullptr) !=
        SQLITE_OK) {
      return core::make_error_code(500, "sqlite: cannot prepare '{}': {}", sql_head(sql),
                                   sqlite3_errmsg(db));
    }
    stmts.emplace(std::string(sql), s);
    return s;
  }

  Status exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errmsg(db);
      sqlite3_free(err);
      return core::make_error_code(500, "sqlite: '{}' failed: {}", sql, msg);
    }
    return {};
  }
};

std::atomic<int64_t> busy_retries{0};

// SQLite's lock was held by another connection: wait a little and try again, for up to ~10 s
// (what sqlite3_busy_timeout(10000) did), counting each retry.
int on_busy(void* /*unused*/, int count) {
  static constexpr int kSleepMs[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50};
  if (count >= 200) return 0;  // 10 s and more
  busy_retries.fetch_add(1, std::memory_order_relaxed);
  const int ms = count < 11 ? kSleepMs[count] : 50;
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return 1;
}

class SqliteTx final : public SqlTx {
 public:
  explicit SqliteTx(Connection& c) : c_(c) {}

  Result<SqlRows> query(std::string_view sql, std::span<const SqlParam> params) override {
    auto st = c_.prepare(sql);
    if (!st.ok()) return st.error();
    sqlite3_stmt* s = *st;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      const auto& v = params[i].value;
      if (!v) {
        sqlite3_bind_null(s, idx);
      } else if (params[i].blob) {
        sqlite3_bind_blob(s, idx, v->data(), static_cast<int>(v->size()), SQLITE_STATIC);
      } else if (params[i].integer) {
        sqlite3_bind_int64(s, idx, std::stoll(*v));
      } else {
        sqlite3_bind_text(s, idx, v->data(), static_cast<int>(v->size()), SQLITE_STATIC);
      }
    }
    SqlRows out;
    int cols = sqlite3_column_count(s);
    while (true) {
      int rc = sqlite3_step(s);
      if (rc == SQLITE_ROW) {
        auto& row = out.rows.emplace_back();
        row.reserve(static_cast<size_t>(cols));
        for (int c = 0; c < cols; ++c) {
          if (sqlite3_column_type(s, c) == SQLITE_NULL) {
            row.emplace_back();
          } else {
            auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
            row.emplace_back(std::string(t, static_cast<size_t>(sqlite3_column_bytes(s, c))));
          }
        }
        continue;
      }
      if (rc == SQLITE_DONE) break;
      auto err =
          core::make_error_code(rc == SQLITE_CONSTRAINT ? 409 : 500, "sqlite: '{}' failed: {}",
                                sql_head(sql), sqlite3_errmsg(c_.db));
      sqlite3_reset(s);
      return err;
    }
    out.affected = sqlite3_changes(c_.db);
    sqlite3_reset(s);
    return out;
  }

  // One writer: nothing to contend with.
  Status insert_events(std::span<const EventRow> rows, std::vector<bool>& inserted,
                       bool /*contended*/) override {
    return insert_event_blocks(*this, rows, inserted);
  }

  Dialect dialect() const override { return Dialect::kSqlite; }

 private:
  Connection& c_;
};

class SqliteBackend final : public StoreBackend {
 public:
  SqliteBackend(const StoreOptions& options, std::filesystem::path file)
      : options_(options), file_(std::move(file)) {}
  ~SqliteBackend() override {
    {
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_stop_ = true;
    }
    checkpoint_cv_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();
  }

  Status init() {
    const auto& sy = options_.sqlite_synchronous;
    if (sy != "FULL" && sy != "NORMAL" && sy != "EXTRA") {
      return core::make_error("store.sqlite_synchronous must be FULL, NORMAL or EXTRA, not '{}'",
                              sy);
    }
    for (int i = 0; i < std::max(2, options_.connections + 1); ++i) {
      auto c = std::make_unique<Connection>();
      if (sqlite3_open_v2(file_.c_str(), &c->db,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                          nullptr) != SQLITE_OK) {
        return core::make_error("sqlite: cannot open {}: {}", file_.string(),
                                c->db ? sqlite3_errmsg(c->db) : "out of memory");
      }
      sqlite3_busy_handler(c->db, &on_busy, nullptr);
      const std::string sync = "PRAGMA synchronous=" + options_.sqlite_synchronous;
      for (const char* p : {"PRAGMA journal_mode=WAL", sync.c_str(), "PRAGMA foreign_keys=ON",
                            "PRAGMA cache_size=-16000"}) {
        if (auto st = c->exec(p); !st.ok()) return st;
      }
      // Replaces the automatic checkpoint that would run inside the commit.
      sqlite3_wal_hook(c->db, &SqliteBackend::on_wal_commit, this);
      free_.push_back(c.get());
      all_.push_back(std::move(c));
    }
    checkpoint_conn_ = std::make_unique<Connection>();
    if (sqlite3_open_v2(file_.c_str(), &checkpoint_conn_->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      return core::make_error("sqlite: cannot open {} for checkpoints: {}", file_.string(),
                              sqlite3_errmsg(checkpoint_conn_->db));
    }
    // Until a connection has read the database it does not know the WAL, and a checkpoint
    // through it does nothing. Its syncs follow the configured level, like the writer's.
    const std::string sync = "PRAGMA synchronous=" + options_.sqlite_synchronous;
    for (const char* p : {"PRAGMA journal_mode=WAL", sync.c_str()}) {
      if (auto st = checkpoint_conn_->exec(p); !st.ok()) return st;
    }
    checkpointer_ = std::thread([this] { checkpoint_loop(); });
    return {};
  }

 private:
  Status DoTransact(bool write, const std::function<Status(SqlTx&)>& fn) override {
    // Writers of this process queue here, each waking when the one before it is done,
    // instead of meeting at SQLite's write lock, where the loser sleeps and retries (the ingest
    // writer behind a retention batch slept up to 100 ms at a time, past the batch's end). The
    // busy handler still covers other processes (the command line, a backup).
    std::unique_lock<std::mutex> writing(write_mu_, std::defer_lock);
    if (write) writing.lock();
    Connection* c = acquire();
    Status result = [&]() -> Status {
      if (auto st = c->exec(write ? "BEGIN IMMEDIATE" : "BEGIN"); !st.ok()) return st;
      SqliteTx tx(*c);
      Status st = fn(tx);
      if (!st.ok()) {
        (void)c->exec("ROLLBACK");
        return st;
      }
      if (auto cst = c->exec("COMMIT"); !cst.ok()) {
        (void)c->exec("ROLLBACK");
        return cst;
      }
      return {};
    }();
    release(c);
    return result;
  }

  Dialect DoDialect() const override { return Dialect::kSqlite; }

  // Called by SQLite after each commit with the WAL's size in pages.
  static int on_wal_commit(void* self, sqlite3* db, const char* /*schema*/, int pages) {
    if (pages >= kWriterCheckpointPages) {
      (void)sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (pages >= kCheckpointPages) {
      auto* store = static_cast<SqliteBackend*>(self);
      {
        std::lock_guard lock(store->checkpoint_mu_);
        store->checkpoint_due_ = true;
      }
      store->checkpoint_cv_.notify_one();
    }
    return SQLITE_OK;
  }

  // PASSIVE checkpoints never wait for the writer or readers: they copy what they can, and
  // the writer starts the WAL over once everything in it has been copied. Once a second
  // without a wake-up, so that an idle server's WAL is copied too.
  void checkpoint_loop() {
    std::unique_lock lock(checkpoint_mu_);
    while (true) {
      checkpoint_cv_.wait_for(lock, std::chrono::seconds(1),
                              [&] { return checkpoint_stop_ || checkpoint_due_; });
      if (checkpoint_stop_) return;
      checkpoint_due_ = false;
      lock.unlock();
      int rc = sqlite3_wal_checkpoint_v2(checkpoint_conn_->db, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                         nullptr, nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        spdlog::warn("sqlite: WAL checkpoint failed: {}", sqlite3_errmsg(checkpoint_conn_->db));
      }
      lock.lock();
    }
  }

  Status DoMigrate() override {
    return DoTransact(true, [](SqlTx& tx) { return apply_migrations(tx); });
  }

  Connection* acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty(); });
    Connection* c = free_.back();
    free_.pop_back();
    return c;
  }
  void release(Connection* c) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(c);
    }
    cv_.notify_one();
  }

  StoreOptions options_;
  std::filesystem::path file_;
  std::unique_ptr<Connection> checkpoint_conn_;
  std::thread checkpointer_;
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_due_ = false, checkpoint_stop_ = false;
  std::mutex write_mu_;  // held through a write transaction, BEGIN to COMMIT
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Connection*> free_;
  std::vector<std::unique_ptr<Connection>> all_;
};

}  // namespace

int64_t sqlite_busy_retries() { return busy_retries.load(std::memory_order_relaxed); }

Result<std::unique_ptr<StoreBackend>> open_sqlite_backend(const StoreOptions& options,
                                                          std::string_view dir) {
  // The database holds every customer's data: the folder is 0700 and the files 0600. SQLite
  // gives the -wal and -shm files the database file's mode, so the database is created here,
  // before SQLite opens it; files left open to others by an older version are narrowed.
  if (auto st = ensure_private_dir(std::filesystem::path(dir)); !st.ok()) {
    return core::make_error("sqlite: {}", st.error().message);
  }
  const auto file = std::filesystem::path(dir) / "mimamori.db";
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    auto path = file;
    path += suffix;
    if (auto st = ensure_private_file(path, *suffix == '\0'); !st.ok()) {
      return core::make_error("sqlite: {}", st.error().message);
    }
  }
  auto backend = std::make_unique<SqliteBackend>(options, file);
  if (auto st = backend->init(); !st.ok()) return st.error();
  return std::unique_ptr<StoreBackend>(std::move(backend));
}

}  // namespace mimamori::server
