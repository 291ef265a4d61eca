#pragma once
/// What the sensor's and the agent's `rules update --url` share: fetching a rule archive
/// (tar.gz) over https, http or file://, checking its SHA-256, reading its files with libarchive
/// (bounded), and a staged folder beside the installed one that replaces it atomically only
/// once the new rules have been test-loaded.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/result.h"

namespace mimamori::core {

inline constexpr std::size_t kMaxRuleArchive = 256u << 20;    // bytes fetched
inline constexpr std::size_t kMaxRuleUnpacked = 1024u << 20;  // bytes after gunzip

/// The archive at `url` (https, http, file://; redirects followed to https or http), at most
/// kMaxRuleArchive bytes; when `sha256` is not empty the body must have that hash. Errors say
/// "fetch: …" or "verify: …".
Result<std::string> fetch_rule_archive(const std::string& url, std::string_view sha256);

struct ArchiveFile {
  std::string path;  // the entry's path inside the archive, as written there
  std::string data;
};

/// The regular files of a gzip-compressed tar archive whose path `want` accepts, in archive
/// order. libarchive checks every header; a damaged archive, one that is not gzip, or one that
/// unpacks to more than `max_unpacked` bytes is an error that says which.
Result<std::vector<ArchiveFile>> read_tar_gz(std::string_view gz,
                                             const std::function<bool(std::string_view)>& want,
                                             std::size_t max_unpacked = kMaxRuleUnpacked);

/// A new folder beside `target` (so that the swap is a rename within one file system), removed
/// with everything in it unless swap_in() put it in target's place.
class StagedFolder {
 public:
  /// Creates `<target>.new-<random>` beside `target` (and target's parent if missing).
  static Result<StagedFolder> beside(const std::filesystem::path& target);
  StagedFolder(StagedFolder&& o) noexcept;
  StagedFolder& operator=(StagedFolder&&) = delete;
  StagedFolder(const StagedFolder&) = delete;
  ~StagedFolder();

  const std::filesystem::path& path() const { return path_; }
  /// Writes one file (a plain name, no folders) into the staged folder.
  Result<std::filesystem::path> write(std::string_view name, std::string_view data);
  /// Puts the staged folder in target's place: an atomic exchange (renameat2) when target
  /// exists, whose old contents are then removed; a rename when it does not.
  Status swap_in();

 private:
  StagedFolder(std::filesystem::path target, std::filesystem::path path)
      : target_(std::move(target)), path_(std::move(path)) {}
  std::filesystem::path target_;
  std::filesystem::path path_;
};

}  // namespace mimamori::core
