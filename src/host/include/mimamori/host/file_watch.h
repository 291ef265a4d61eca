#pragma once
/// FileWatch: a SHA-256 baseline of a set of files (explicit paths, directories walked to a
/// bounded depth, `*` globs), kept current by inotify and by throttled periodic rescans, and
/// persisted so that changes made while the agent was down are found at start. File integrity
/// and persistence monitoring are both built on it; WriterTracker (fanotify) says who wrote.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mimamori/host/collector.h"

namespace mimamori::host {

/// What is known about one file.
struct FileState {
  std::string sha256;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  std::string content;  ///< kept for small text files when asked (to show added lines)
};

/// One difference from the baseline.
struct FileChange {
  enum class Kind : uint8_t { kAdded, kModified, kDeleted };
  Kind kind = Kind::kModified;
  std::string path;
  FileState before, after;
  std::vector<std::string> added_lines;  ///< lines new in `after` (small text files only)
};

/// The process that last wrote a file, as fanotify reported it.
struct Writer {
  int pid = 0;
  uint32_t uid = 0;
  std::string process;  ///< comm
  std::string exe;
};

/// Who wrote which file: fanotify FAN_CLOSE_WRITE marks on directories (needs root).
class WriterTracker {
 public:
  ~WriterTracker();
  /// Marks `dirs`; an error (not root, no fanotify) leaves "who" unknown.
  core::Status start(const std::vector<std::string>& dirs);
  void stop();
  /// The last writer of `path` within the last minute, if fanotify saw one.
  std::optional<Writer> writer_of(const std::string& path);

 private:
  void loop();
  int fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, std::pair<Writer, std::chrono::steady_clock::time_point>> writers_;
};

/// Reads pid's comm, exe and uid from /proc (empty fields when it has gone).
Writer describe_process(int pid);

/// The baseline and its upkeep.
class FileWatch {
 public:
  struct Options {
    std::vector<std::string> paths;           ///< files, directories or `*` globs
    int max_depth = 8;                        ///< directory recursion bound
    std::size_t max_files = 200000;           ///< bound on the baseline (counted when it bites)
    uint64_t keep_content_below = 0;          ///< keep content of files smaller than this (bytes)
    std::filesystem::path baseline_file;      ///< where the baseline persists (empty: memory only)
    uint64_t hash_bytes_per_s = 32ull << 20;  ///< throttle of periodic full re-hashing
    bool lazy_baseline = false;  ///< first baseline from metadata; hashes filled by verify passes
  };
  explicit FileWatch(Options options);
  ~FileWatch();

  /// Loads the persisted baseline and sets up inotify on the watched directories.
  core::Status start();
  /// Rescans: stats every file, hashes new and changed ones, returns the differences and
  /// updates (and persists) the baseline. `force`: rescan even without inotify activity.
  std::vector<FileChange> scan(bool force);
  /// Starts a verification pass (a throttled re-hash of every file) unless one is running.
  void start_verify_pass();
  /// True while a verification pass is running.
  bool verifying() const { return verifying_; }
  /// Continues the pass: re-hashes up to the throttle's budget for `elapsed` (catches content
  /// changed behind the metadata's back, fills a lazy baseline); returns differences found.
  std::vector<FileChange> verify_some(std::chrono::milliseconds elapsed);
  /// True when inotify reported activity since the last scan.
  bool dirty();
  /// The inotify descriptor (for poll()), -1 without inotify.
  int inotify_fd() const { return inotify_fd_; }
  /// Directories being watched.
  std::vector<std::string> directories() const;
  /// Number of files in the baseline.
  std::size_t size() const { return baseline_.size(); }
  /// Files left out because max_files was reached.
  uint64_t overflow() const { return overflow_; }

 private:
  void expand(std::map<std::string, int>& files, std::vector<std::string>& dirs) const;
  void add_watches(const std::vector<std::string>& dirs);
  void save() const;
  bool load();
  FileChange diff(FileChange::Kind kind, const std::string& path, const FileState* before,
                  const FileState* after) const;

  Options options_;
  std::map<std::string, FileState> baseline_;
  bool loaded_ = false;
  int inotify_fd_ = -1;
  std::map<int, std::string> watch_dirs_;
  uint64_t overflow_ = 0;
  std::string verify_cursor_;
  double verify_budget_ = 0;
  bool verifying_ = false;
};

/// Reads `path` and fills `state` (hash, metadata). False when it cannot be read.
bool read_file_state(const std::string& path, FileState& state, uint64_t keep_content_below);

}  // namespace mimamori::host
