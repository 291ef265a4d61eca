#pragma once
// The narrow seam between Store and a database, in the manner of Zeek's storage/Backend.h:
// public non-virtual methods call the private virtual Do… methods and answer with result
// values. The two backends are listed here explicitly (no self-registration); open_store
// (store/open_store.cc) picks one by the store URL. Private to store/ and its backend folders.

#include <functional>
#include <memory>
#include <string_view>

#include "mimamori/server/store.h"
#include "store/sql.h"

namespace mimamori::server {

/// One database: a pool of connections handing out transactions.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  StoreBackend(const StoreBackend&) = delete;
  StoreBackend& operator=(const StoreBackend&) = delete;

  /// Runs `fn` in one transaction (a writing one when `write`); commits when `fn` succeeds.
  Status transact(bool write, const std::function<Status(SqlTx&)>& fn) {
    return DoTransact(write, fn);
  }
  /// The SQL dialect of its connections.
  Dialect dialect() const { return DoDialect(); }
  /// Applies the migrations newer than the stored schema version.
  Status migrate() { return DoMigrate(); }
  /// Whether the database answers (see DatabaseState).
  DatabaseState state() const { return DoState(); }

 protected:
  StoreBackend() = default;

 private:
  virtual Status DoTransact(bool write, const std::function<Status(SqlTx&)>& fn) = 0;
  virtual Dialect DoDialect() const = 0;
  virtual Status DoMigrate() = 0;
  virtual DatabaseState DoState() const { return {}; }
};

/// SQLite in `dir`/mimamori.db: WAL, a pool of connections, a checkpoint thread.
Result<std::unique_ptr<StoreBackend>> open_sqlite_backend(const StoreOptions& options,
                                                          std::string_view dir);
/// Times a SQLite connection of this process found the database locked and retried (every
/// SQLite store of the process): writers of one store queue on a mutex instead, so ingest
/// beside the retention sweep and API writes adds none.
int64_t sqlite_busy_retries();
/// Whether `url` names a PostgreSQL database: a libpq URL (`postgresql://…`, `postgres://…`)
/// or a libpq connection string of `keyword=value` pairs (`host=a,b port=… dbname=…`).
bool is_postgres_url(std::string_view url);
/// Whether libpq's message of a failed connection means the database refused it on purpose (a
/// wrong password, an unknown database or role, pg_hba.conf): a configuration error, not an
/// outage to wait out.
bool pg_configuration_error(std::string_view libpq_message);
/// PostgreSQL through libpq at `url` (either form of is_postgres_url). A database that does not
/// answer fails the open, unless `options.wait_for_database`: then the backend starts down.
Result<std::unique_ptr<StoreBackend>> open_postgres_backend(const StoreOptions& options,
                                                            std::string_view url);

}  // namespace mimamori::server
