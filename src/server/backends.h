#pragma once
// The two Store backends, listed here explicitly (no self-registration).

#include <memory>

#include "mimamori/server/store.h"

namespace mimamori::server {

/// SQLite in `dir`/mimamori.db: WAL, a pool of connections, one ingest writer.
Result<std::unique_ptr<Store>> open_sqlite_store(const StoreOptions& options, std::string_view dir);
/// PostgreSQL through libpq at `url`.
Result<std::unique_ptr<Store>> open_postgres_store(const StoreOptions& options,
                                                   std::string_view url);

}  // namespace mimamori::server
