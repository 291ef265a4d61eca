// Backups of a store. SQLite: the online backup API rather than VACUUM INTO, because it copies
// in steps whose progress (pages done / total) can be shown, and the copy keeps the pages as
// they are; one read transaction held across all steps pins a single snapshot, so the copy is
// consistent and never starts over under a steady ingest, while WAL lets the server's writer
// keep committing beside it (only the WAL's reset waits until the copy ends). PostgreSQL:
// pg_dump --format=custom under a snapshot exported by a REPEATABLE READ transaction in which
// the rows per table are counted too, so that manifest and dump show the same instant.

#include "mimamori/server/backup.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "mimamori/core/clock.h"
#include "mimamori/core/hash.h"
#include "secrets.h"
#include "store/backend.h"

extern char** environ;

namespace mimamori::server {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using core::make_error;

constexpr const char* kServerVersion = "0.1.0";
constexpr const char* kManifest = "manifest.json";
constexpr const char* kKeyCopy = "secret.key";
constexpr const char* kSqliteCopy = "mimamori.db";
constexpr const char* kPgCopy = "mimamori.pgdump";
// Pages per restore step (4 KiB pages: 16 MiB).
constexpr int kStepPages = 4096;

void say(const std::function<void(const std::string&)>& progress, const std::string& line) {
  if (progress) progress(line);
}

// Copies `from` to a new file `to` of mode 0600 (refusing to overwrite unless `replace`).
Status copy_private(const fs::path& from, const fs::path& to, bool replace) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return make_error("cannot read {}: {}", from.string(), std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const fs::path tmp = fs::path(to.string() + ".tmp");
  fs::remove(tmp);
  if (auto st = ensure_private_file(tmp, true); !st.ok()) return st;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) return make_error("cannot write {}: {}", tmp.string(), std::strerror(errno));
  }
  std::error_code ec;
  if (!replace && fs::exists(to, ec)) {
    fs::remove(tmp, ec);
    return make_error("{} exists already", to.string());
  }
  fs::rename(tmp, to, ec);
  if (ec) return make_error("cannot move {} to {}: {}", tmp.string(), to.string(), ec.message());
  return {};
}

Status write_manifest(const fs::path& dir, const BackupManifest& m) {
  json::object tables;
  for (const auto& [t, n] : m.tables) tables[t] = n;
  json::object o{{"format", "mimamori-backup-1"},
                 {"backend", m.backend},
                 {"schema_version", m.schema_version},
                 {"created_at", m.created_at},
                 {"server_version", m.server_version},
                 {"data_file", m.data_file},
                 {"sha256", m.sha256},
                 {"key_file", m.has_key ? kKeyCopy : ""},
                 {"tables", tables}};
  const fs::path file = dir / kManifest;
  if (auto st = ensure_private_file(file, true); !st.ok()) return st;
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << json::serialize(o) << '\n';
  out.flush();
  if (!out) return make_error("cannot write {}: {}", file.string(), std::strerror(errno));
  return {};
}

// The backup folder: created 0700; refused when it holds a backup already.
Status prepare_folder(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir / kManifest, ec) || fs::exists(dir / kSqliteCopy, ec) ||
      fs::exists(dir / kPgCopy, ec)) {
    return make_error("{} holds a backup already: choose a new folder", dir.string());
  }
  return ensure_private_dir(dir);
}

// The key file into the folder, or a note of why not.
Result<bool> copy_key(const StoreOptions& options, const BackupRequest& req) {
  if (req.without_key) {
    say(req.progress,
        "key file left out (--without-key): keep " +
            (options.secret_key_file.empty() ? std::string("the key file")
                                             : options.secret_key_file) +
            " safe separately — without it the sealed secrets in this backup cannot be opened");
    return false;
  }
  if (options.secret_key_file.empty() || !fs::exists(options.secret_key_file)) {
    say(req.progress, "no key file at '" + options.secret_key_file + "': none copied");
    return false;
  }
  if (auto st = copy_private(options.secret_key_file, req.to / kKeyCopy, false); !st.ok()) {
    return st.error();
  }
  say(req.progress, "WARNING: the key file " + options.secret_key_file + " is copied to " +
                        (req.to / kKeyCopy).string() +
                        ": whoever holds this folder can open every sealed secret; keep it as "
                        "safe as the key itself (or back up with --without-key)");
  return true;
}

// --- SQLite -----------------------------------------------------------------------------

struct SqliteDb {
  sqlite3* db = nullptr;
  ~SqliteDb() {
    if (db) sqlite3_close_v2(db);
  }
  Status open(const fs::path& file, int flags) {
    if (sqlite3_open_v2(file.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      return make_error("sqlite: cannot open {}: {}", file.string(),
                        db ? sqlite3_errmsg(db) : "out of memory");
    }
    sqlite3_extended_result_codes(db, 0);
    return {};
  }
  Status exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errmsg(db);
      sqlite3_free(err);
      return make_error("sqlite: '{}' failed: {}", sql, msg);
    }
    return {};
  }
  int code() const { return sqlite3_errcode(db); }
  // Every row's first column as text.
  Result<std::vector<std::string>> column(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      return make_error("sqlite: cannot prepare '{}': {}", sql, sqlite3_errmsg(db));
    }
    std::vector<std::string> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
      out.emplace_back(t ? t : "");
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return make_error("sqlite: '{}' failed: {}", sql, sqlite3_errmsg(db));
    return out;
  }
};

std::string sql_name(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Rows per table (named by `tables_sql`) and the schema version, read in whatever transaction
// `db` (SqliteDb or PgConn) is in.
template <typename Db>
Status census(Db& db, const std::string& tables_sql, BackupManifest& m) {
  auto names = db.column(tables_sql);
  if (!names.ok()) return names.error();
  m.tables.clear();
  for (const auto& t : *names) {
    auto n = db.column("SELECT COUNT(*) FROM " + sql_name(t));
    if (!n.ok()) return n.error();
    m.tables.emplace_back(t, std::stoll(n->at(0)));
    if (t == "schema_migrations") {
      auto v = db.column("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
      if (!v.ok()) return v.error();
      m.schema_version = std::stoll(v->at(0));
    }
  }
  std::sort(m.tables.begin(), m.tables.end());
  return {};
}

Status sqlite_census(SqliteDb& db, BackupManifest& m) {
  return census(db,
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name",
                m);
}

// Copies every page of `src` into `dest` in steps, telling the progress.
Status sqlite_copy(SqliteDb& src, SqliteDb& dest, const std::string& what, int step_pages,
                   const std::function<void(const std::string&)>& progress) {
  sqlite3_backup* b = sqlite3_backup_init(dest.db, "main", src.db, "main");
  if (!b)
    return make_error("sqlite: cannot start the copy of {}: {}", what, sqlite3_errmsg(dest.db));
  int rc = SQLITE_OK;
  int shown = -1;
  while (true) {
    rc = sqlite3_backup_step(b, step_pages);
    const int total = sqlite3_backup_pagecount(b);
    const int done = total - sqlite3_backup_remaining(b);
    const int tenth = total > 0 ? done * 10 / total : 10;
    if (tenth != shown && (total > step_pages || rc == SQLITE_DONE)) {
      say(progress, fmt::format("{}: {} / {} pages", what, done, total));
      shown = tenth;
    }
    if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      if (rc != SQLITE_OK) sqlite3_sleep(50);
      continue;
    }
    break;
  }
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    return make_error("sqlite: copying {} failed: {}", what, sqlite3_errstr(rc));
  }
  return {};
}

// The copy's hash, the key file beside it (unless left out) and the manifest: the end of every
// backup.
Result<BackupManifest> finish_backup(const StoreOptions& options, const BackupRequest& req,
                                     const fs::path& copy, BackupManifest& m) {
  auto hash = core::sha256_file_hex(copy);
  if (!hash.ok()) return hash.error();
  m.sha256 = *hash;
  auto key = copy_key(options, req);
  if (!key.ok()) return key.error();
  m.has_key = *key;
  if (auto st = write_manifest(req.to, m); !st.ok()) return st.error();
  return m;
}

Result<BackupManifest> sqlite_backup(const StoreOptions& options, std::string_view dir,
                                     const BackupRequest& req) {
  const fs::path file = fs::path(dir) / "mimamori.db";
  if (!fs::exists(file)) {
    return make_error("no database at {}: is the data directory right?", file.string());
  }
  BackupManifest m;
  m.backend = "sqlite";
  m.data_file = kSqliteCopy;
  m.server_version = kServerVersion;
  const fs::path copy = req.to / kSqliteCopy;
  {
    SqliteDb src, dest;
    if (auto st = src.open(file, SQLITE_OPEN_READWRITE); !st.ok()) return st.error();
    sqlite3_busy_timeout(src.db, 10000);
    // The snapshot: from here on the copy sees one instant, whatever the writer commits.
    if (auto st = src.exec("BEGIN"); !st.ok()) return st.error();
    if (auto st = src.exec("SELECT COUNT(*) FROM sqlite_master"); !st.ok()) return st.error();
    m.created_at = core::format_eve_time(core::now(), 0);
    if (auto st = ensure_private_file(copy, true); !st.ok()) return st.error();
    if (auto st = dest.open(copy, SQLITE_OPEN_READWRITE); !st.ok()) return st.error();
    if (auto st = sqlite_copy(src, dest, file.string(), std::max(1, req.step_pages), req.progress);
        !st.ok())
      return st.error();
    (void)src.exec("COMMIT");
    // One self-contained file: the copy leaves WAL mode (the server sets it again on open).
    if (auto st = dest.exec("PRAGMA journal_mode=DELETE"); !st.ok()) return st.error();
    if (auto st = sqlite_census(dest, m); !st.ok()) return st.error();
  }
  return finish_backup(options, req, copy, m);
}

Status compare_tables(const BackupManifest& want, const BackupManifest& got,
                      const std::string& where) {
  if (want.tables == got.tables) return {};
  for (const auto& [t, n] : want.tables) {
    auto it = std::find_if(got.tables.begin(), got.tables.end(),
                           [&](const auto& g) { return g.first == t; });
    if (it == got.tables.end()) {
      return make_error("restored {}: table {} is missing (the manifest lists {} rows)", where, t,
                        n);
    }
    if (it->second != n) {
      return make_error("restored {}: table {} has {} rows, the manifest says {}", where, t,
                        it->second, n);
    }
  }
  return make_error("restored {}: it has tables the manifest does not list", where);
}

Status restore_key(const StoreOptions& options, const RestoreRequest& req,
                   const BackupManifest& m) {
  if (!m.has_key) {
    say(req.progress, "the backup holds no key file: put the key kept separately at " +
                          options.secret_key_file + " before starting the server");
    return {};
  }
  if (options.secret_key_file.empty()) return {};
  const fs::path target = options.secret_key_file;
  if (auto st = ensure_private_dir(target.parent_path()); !st.ok()) return st;
  if (auto st = copy_private(req.from / kKeyCopy, target, true); !st.ok()) return st;
  say(req.progress, "key file restored to " + target.string());
  return {};
}

// A different key file in place would make the restored secrets unreadable: refused unless
// --force (the old one is then kept beside it).
Status check_key_target(const StoreOptions& options, const RestoreRequest& req,
                        const BackupManifest& m) {
  if (!m.has_key || options.secret_key_file.empty()) return {};
  const fs::path target = options.secret_key_file;
  if (!fs::exists(target)) return {};
  auto a = core::sha256_file_hex(target);
  auto b = core::sha256_file_hex(req.from / kKeyCopy);
  if (!a.ok()) return a.error();
  if (!b.ok()) return b.error();
  if (*a == *b) return {};
  if (!req.force) {
    return make_error(
        "a different key file is at {}: restoring would replace it (pass --force; the old one "
        "is kept as {}.before-restore)",
        target.string(), target.string());
  }
  std::error_code ec;
  fs::copy_file(target, target.string() + ".before-restore", fs::copy_options::overwrite_existing,
                ec);
  if (ec) return make_error("cannot keep the old key file {}: {}", target.string(), ec.message());
  return {};
}

Result<BackupManifest> sqlite_restore(const StoreOptions& options, std::string_view dir,
                                      const RestoreRequest& req, const BackupManifest& m) {
  if (auto st = ensure_private_dir(fs::path(dir)); !st.ok()) return st.error();
  const fs::path file = fs::path(dir) / "mimamori.db";
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    if (auto st = ensure_private_file(file.string() + suffix, *suffix == '\0'); !st.ok()) {
      return st.error();
    }
  }
  SqliteDb dest;
  if (auto st = dest.open(file, SQLITE_OPEN_READWRITE); !st.ok()) return st.error();
  // A running server holds the database open; an exclusive lock is refused then, and held, it
  // keeps a server from opening the store until the restore ends.
  sqlite3_busy_timeout(dest.db, 500);
  if (auto st = dest.exec("PRAGMA locking_mode=EXCLUSIVE"); !st.ok()) return st.error();
  if (auto st = dest.exec("BEGIN EXCLUSIVE"); !st.ok()) {
    if (dest.code() == SQLITE_BUSY || dest.code() == SQLITE_LOCKED) {
      return make_error(
          "{} is in use (is mimamori-server running on it?): stop the server before restoring",
          file.string());
    }
    return st.error();
  }
  BackupManifest before;
  if (auto st = sqlite_census(dest, before); !st.ok()) return st.error();
  for (const auto& [t, n] : before.tables) {
    if (n > 0 && t != "schema_migrations" && !req.force) {
      (void)dest.exec("ROLLBACK");
      return make_error(
          "{} is not empty (table {} has {} rows): restore into an empty store, or pass --force "
          "to replace it",
          file.string(), t, n);
    }
  }
  if (auto st = check_key_target(options, req, m); !st.ok()) {
    (void)dest.exec("ROLLBACK");
    return st.error();
  }
  if (auto st = dest.exec("COMMIT"); !st.ok()) return st.error();
  {
    SqliteDb src;
    if (auto st = src.open(req.from / m.data_file, SQLITE_OPEN_READONLY); !st.ok()) {
      return st.error();
    }
    if (auto st =
            sqlite_copy(src, dest, (req.from / m.data_file).string(), kStepPages, req.progress);
        !st.ok()) {
      return st.error();
    }
  }
  if (auto st = dest.exec("PRAGMA journal_mode=WAL"); !st.ok()) return st.error();
  BackupManifest after;
  if (auto st = sqlite_census(dest, after); !st.ok()) return st.error();
  if (auto st = compare_tables(m, after, file.string()); !st.ok()) return st.error();
  if (auto st = restore_key(options, req, m); !st.ok()) return st.error();
  return after;
}

// --- PostgreSQL -------------------------------------------------------------------------

struct PgConn {
  PGconn* c = nullptr;
  ~PgConn() {
    if (c) PQfinish(c);
  }
  Status open(const std::string& url) {
    c = PQconnectdb(url.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      return make_error("postgresql: cannot connect: {}", PQerrorMessage(c));
    }
    return {};
  }
  Result<std::vector<std::string>> column(const std::string& sql) {
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c, sql.c_str()), PQclear);
    auto s = PQresultStatus(r.get());
    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
      return make_error("postgresql: '{}' failed: {}", sql, PQresultErrorMessage(r.get()));
    }
    std::vector<std::string> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) out.emplace_back(PQgetvalue(r.get(), i, 0));
    return out;
  }
};

Status pg_census(PgConn& db, BackupManifest& m) {
  return census(
      db, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename",
      m);
}

// Runs a program (found on PATH) and waits for it; its output goes to ours.
Status run_program(const std::vector<std::string>& argv, std::string_view package) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (rc == ENOENT) {
    return make_error(
        "{} is not installed (or not on PATH): install {} to back up or restore a "
        "PostgreSQL store",
        argv[0], package);
  }
  if (rc != 0) return make_error("cannot run {}: {}", argv[0], std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return make_error("waiting for {} failed: {}", argv[0], std::strerror(errno));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return make_error("{} failed (exit status {}): see its message above", argv[0],
                    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

Result<BackupManifest> pg_backup(const StoreOptions& options, const BackupRequest& req) {
  PgConn db;
  if (auto st = db.open(options.url); !st.ok()) return st.error();
  BackupManifest m;
  m.backend = "postgresql";
  m.data_file = kPgCopy;
  m.server_version = kServerVersion;
  auto begin = db.column("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  if (!begin.ok()) return begin.error();
  auto snapshot = db.column("SELECT pg_export_snapshot()");
  if (!snapshot.ok()) return snapshot.error();
  m.created_at = core::format_eve_time(core::now(), 0);
  if (auto st = pg_census(db, m); !st.ok()) return st.error();
  const fs::path copy = req.to / kPgCopy;
  if (auto st = ensure_private_file(copy, true); !st.ok()) return st.error();
  say(req.progress,
      "pg_dump: " + std::to_string(m.tables.size()) + " tables into " + copy.string());
  if (auto st = run_program(
          {"pg_dump", "--format=custom", "--no-owner", "--no-privileges",
           "--snapshot=" + snapshot->at(0), "--file=" + copy.string(), "--dbname=" + options.url},
          "postgresql-client");
      !st.ok()) {
    return st.error();
  }
  (void)db.column("COMMIT");
  return finish_backup(options, req, copy, m);
}

Result<BackupManifest> pg_restore(const StoreOptions& options, const RestoreRequest& req,
                                  const BackupManifest& m) {
  PgConn db;
  if (auto st = db.open(options.url); !st.ok()) return st.error();
  // mimamori-server keeps a pool of connections open: any other client session on the database
  // is taken as a running server (autovacuum and other background workers are not).
  auto others = db.column(
      "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
      "pg_backend_pid() AND backend_type = 'client backend'");
  if (!others.ok()) return others.error();
  if (others->at(0) != "0") {
    return make_error(
        "the database has {} other connection(s) (is mimamori-server running on it?): stop every "
        "server and client of it before restoring",
        others->at(0));
  }
  BackupManifest before;
  if (auto st = pg_census(db, before); !st.ok()) return st.error();
  for (const auto& [t, n] : before.tables) {
    if (n > 0 && t != "schema_migrations" && !req.force) {
      return make_error(
          "the database is not empty (table {} has {} rows): restore into an empty database, or "
          "pass --force to replace it",
          t, n);
    }
  }
  if (auto st = check_key_target(options, req, m); !st.ok()) return st.error();
  std::vector<std::string> argv = {"pg_restore", "--single-transaction", "--no-owner",
                                   "--no-privileges", "--dbname=" + options.url};
  // Tables of a migrated but empty store (or, with --force, of any store) are replaced.
  if (!before.tables.empty()) {
    argv.push_back("--clean");
    argv.push_back("--if-exists");
  }
  argv.push_back((req.from / m.data_file).string());
  say(req.progress, "pg_restore: " + (req.from / m.data_file).string());
  if (auto st = run_program(argv, "postgresql-client"); !st.ok()) return st.error();
  BackupManifest after;
  if (auto st = pg_census(db, after); !st.ok()) return st.error();
  if (auto st = compare_tables(m, after, "database"); !st.ok()) return st.error();
  if (auto st = restore_key(options, req, m); !st.ok()) return st.error();
  return after;
}

bool is_postgres(std::string_view url) { return is_postgres_url(url); }

}  // namespace

Result<BackupManifest> read_backup_manifest(const fs::path& dir) {
  const fs::path file = dir / kManifest;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return make_error("{}: cannot read ({}): is {} a backup folder?", file.string(),
                      std::strerror(errno), dir.string());
  }
  std::string text((std::istreambuf_iterator<char>(in)), {});
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object())
    return make_error("{}: not a JSON object: {}", file.string(), ec.message());
  const auto& o = v.as_object();
  BackupManifest m;
  try {
    if (o.at("format").as_string() != "mimamori-backup-1") {
      return make_error("{}: format '{}' is not understood", file.string(),
                        std::string(o.at("format").as_string()));
    }
    m.backend = o.at("backend").as_string();
    m.schema_version = o.at("schema_version").to_number<int64_t>();
    m.created_at = o.at("created_at").as_string();
    m.server_version = o.at("server_version").as_string();
    m.data_file = o.at("data_file").as_string();
    m.sha256 = o.at("sha256").as_string();
    m.has_key = !o.at("key_file").as_string().empty();
    for (const auto& [t, n] : o.at("tables").as_object()) {
      m.tables.emplace_back(std::string(t), n.to_number<int64_t>());
    }
  } catch (const std::exception& e) {
    return make_error("{}: a field is missing or of the wrong type: {}", file.string(), e.what());
  }
  std::sort(m.tables.begin(), m.tables.end());
  if (m.data_file != kSqliteCopy && m.data_file != kPgCopy) {
    return make_error("{}: data_file '{}' is not a backup file name", file.string(), m.data_file);
  }
  return m;
}

Result<BackupManifest> backup_store(const StoreOptions& options, const BackupRequest& req) {
  std::string_view url = options.url;
  const bool pg = is_postgres(url);
  if (!pg && !url.starts_with("sqlite:")) {
    return make_error("store url '{}' is not understood: use sqlite:DIR or postgresql://…", url);
  }
  if (auto st = prepare_folder(req.to); !st.ok()) return st.error();
  auto m = pg ? pg_backup(options, req) : sqlite_backup(options, url.substr(7), req);
  if (!m.ok()) {
    // No manifest was written: what there is of the copy goes, so the folder can be used again.
    std::error_code ec;
    for (const char* f : {kSqliteCopy, kPgCopy, kKeyCopy}) {
      fs::remove(req.to / f, ec);
      fs::remove(req.to / (std::string(f) + ".tmp"), ec);
    }
  }
  return m;
}

Result<BackupManifest> restore_store(const StoreOptions& options, const RestoreRequest& req) {
  auto m = read_backup_manifest(req.from);
  if (!m.ok()) return m.error();
  std::string_view url = options.url;
  const bool pg = is_postgres(url);
  if (!pg && !url.starts_with("sqlite:")) {
    return make_error("store url '{}' is not understood: use sqlite:DIR or postgresql://…", url);
  }
  if (m->backend != (pg ? "postgresql" : "sqlite")) {
    return make_error("{} is a {} backup; the store {} is {}", req.from.string(), m->backend, url,
                      pg ? "postgresql" : "sqlite");
  }
  const fs::path copy = req.from / m->data_file;
  auto hash = core::sha256_file_hex(copy);
  if (!hash.ok()) return hash.error();
  if (*hash != m->sha256) {
    return make_error(
        "{}: SHA-256 is {}, the manifest says {}: the backup is damaged or was altered; nothing "
        "restored",
        copy.string(), *hash, m->sha256);
  }
  if (m->has_key && !fs::exists(req.from / kKeyCopy)) {
    return make_error("{}: the manifest lists a key file but it is missing",
                      (req.from / kKeyCopy).string());
  }
  say(req.progress, fmt::format("{}: SHA-256 matches the manifest ({} tables, schema {}, taken {})",
                                copy.string(), m->tables.size(), m->schema_version, m->created_at));
  Result<BackupManifest> done =
      pg ? pg_restore(options, req, *m) : sqlite_restore(options, url.substr(7), req, *m);
  if (!done.ok()) return done.error();
  return *m;
}

}  // namespace mimamori::server
