#pragma once
// Versioned schema migrations, shared by both backends (the SQL is portable on purpose).

#include <cstdint>
#include <string_view>
#include <vector>

#include "store/sql.h"

namespace mimamori::server {

/// One schema version: statements applied in one transaction.
struct Migration {
  int64_t version;
  std::string_view description;
  std::vector<std::string_view> statements;
};

/// Every migration, oldest first.
const std::vector<Migration>& migrations();

/// Applies the migrations newer than the stored version inside `tx` (which the backend holds
/// exclusively: SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock), all in that one
/// transaction; refuses a stored version newer than the last one known.
Status apply_migrations(SqlTx& tx);

}  // namespace mimamori::server
