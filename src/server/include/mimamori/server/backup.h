#pragma once
// Backups of a store (`mimamori admin backup|restore`): a folder holding a consistent copy of
// the database (SQLite: the online backup API over one read snapshot; PostgreSQL: pg_dump's
// custom format), a manifest (schema version, time, server version, rows per table, SHA-256 of
// the copy) and, unless left out, the key file that seals the secret columns.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "mimamori/core/result.h"
#include "mimamori/server/store.h"

namespace mimamori::server {

/// What a backup folder's manifest.json says.
struct BackupManifest {
  std::string backend;         ///< "sqlite" or "postgresql"
  int64_t schema_version = 0;  ///< the newest migration applied to the copy
  std::string created_at;      ///< when the snapshot was taken (EVE time, UTC)
  std::string server_version;  ///< the mimamori version that wrote it
  std::string data_file;       ///< the copy's file name in the folder
  std::string sha256;          ///< SHA-256 of the copy, hex
  bool has_key = false;        ///< the key file is in the folder as secret.key
  std::vector<std::pair<std::string, int64_t>> tables;  ///< rows per table, sorted by name
};

/// How to back up.
struct BackupRequest {
  std::filesystem::path to;  ///< the folder to write (created 0700; must not hold a backup)
  bool without_key = false;  ///< leave the key file out (it must then be kept separately)
  /// Progress lines (pages copied / total, steps done); may be empty.
  std::function<void(const std::string&)> progress;
  /// SQLite pages copied per step (4 KiB each); the writer commits between steps.
  int step_pages = 4096;
};

/// How to restore.
struct RestoreRequest {
  std::filesystem::path from;  ///< a folder written by backup_store
  bool force = false;          ///< replace a store (and key file) that is not empty
  /// Progress lines; may be empty.
  std::function<void(const std::string&)> progress;
};

/// Writes a consistent backup of the store at `options.url` (a running server may keep
/// ingesting) and its key file `options.secret_key_file` into `req.to`.
core::Result<BackupManifest> backup_store(const StoreOptions& options, const BackupRequest& req);

/// Restores a backup into the store at `options.url`, which must be empty (or `req.force`) and
/// not in use by a server; checks the copy's SHA-256 before and the rows per table after, and
/// puts the key file at `options.secret_key_file`.
core::Result<BackupManifest> restore_store(const StoreOptions& options, const RestoreRequest& req);

/// Reads and checks the manifest of a backup folder.
core::Result<BackupManifest> read_backup_manifest(const std::filesystem::path& dir);

}  // namespace mimamori::server
