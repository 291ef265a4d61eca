#pragma once
/// The Windows agent's collectors beside the event-log Sigma alerts (docs/windows.md):
/// - EventLogWatch (event_log_watch.h): brute force over logons, services (7045) and tasks
///   (4698) from the event log;
/// - RegistryPersistence: services, Run/RunOnce values and scheduled-task files compared with
///   a baseline taken at start (rescanned when a watched key changes and every interval);
/// - FolderRansomwareGuard: ReadDirectoryChangesW on user folders and canaries, the Linux
///   guard's content heuristics (ransomware_content.h), and a response when the writer can be
///   named (the Restart Manager's list of processes holding a file open);
/// - DownloadsCheck: new files in Downloads hashed (SHA-256 over BCrypt) against the hash list.
/// All emit on the thread that polls them (the agent's main loop). Windows only.

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "mimamori/core/config.h"
#include "mimamori/host/collector.h"
#include "mimamori/host/event_log_watch.h"
#include "mimamori/host/ransomware.h"

namespace mimamori::host {

class DirWatch;

/// Autostart entries in the registry and the Tasks folder, diffed against a baseline.
class RegistryPersistence : public Collector {
 public:
  struct Options {
    std::chrono::milliseconds interval{60000};  ///< persistence.interval_s
    std::string tasks_dir;                      ///< default %SystemRoot%\System32\Tasks
  };
  explicit RegistryPersistence(Options options);
  ~RegistryPersistence() override;
  std::string_view name() const override { return "persistence"; }
  core::Status start(EventSink& sink) override;
  void poll(EventSink& sink) override;
  /// Entries in the current snapshot (for tests and the log).
  std::size_t entries() const { return snapshot_.size(); }

  struct Entry {
    std::string kind;   ///< windows_service, run_key, scheduled_task
    std::string root;   ///< the hive or folder it belongs to (a new root is baseline, not news)
    std::string where;  ///< the key or file
    std::string name;   ///< the value or service name
    std::string value;  ///< the command, image path or task command
  };

 private:
  /// The entries now, and in `roots` every hive and folder looked at.
  std::map<std::string, Entry> scan(std::set<std::string>& roots);
  void arm();

  Options options_;
  std::map<std::string, Entry> snapshot_;
  std::set<std::string> roots_;
  std::vector<void*> events_;  // registry change notifications (HANDLE)
  std::vector<void*> keys_;    // the keys they watch (HKEY)
  std::chrono::steady_clock::time_point last_scan_;
};

/// ReadDirectoryChangesW on user folders: bursts of encrypted-looking rewrites and canaries.
class FolderRansomwareGuard : public Collector {
 public:
  explicit FolderRansomwareGuard(RansomwareGuard::Options options);
  ~FolderRansomwareGuard() override;
  std::string_view name() const override { return "ransomware"; }
  core::Status start(EventSink& sink) override;
  void poll(EventSink& sink) override;
  const std::vector<std::string>& canaries() const { return canary_paths_; }

 private:
  struct Burst {
    std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> writes;
    uint64_t count = 0;
    std::chrono::steady_clock::time_point first;
    std::chrono::steady_clock::time_point acted[2]{};  // the last burst and canary alerts
  };
  void on_change(unsigned long action, const std::string& root, const std::string& path,
                 EventSink& sink);
  void act(Burst& b, bool canary, const std::string& trigger, EventSink& sink);

  RansomwareGuard::Options options_;
  std::vector<std::pair<std::string, std::unique_ptr<DirWatch>>> watches_;
  std::set<std::string> canary_set_;  // lower-cased paths
  std::vector<std::string> canary_paths_;
  std::map<std::string, Burst> bursts_;  // by watched folder: the writer is not named
};

/// New files in Downloads folders hashed against the known-bad hash list.
class DownloadsCheck : public Collector {
 public:
  struct Options {
    std::vector<std::string> paths;  ///< downloads.paths (default: each profile's Downloads)
    std::string hash_list;           ///< yara.hash_list
    std::chrono::milliseconds settle{1000};  ///< a file untouched this long is complete
    uint64_t max_file_bytes = 64ull << 20;   ///< yara.max_file_mb
  };
  explicit DownloadsCheck(Options options);
  ~DownloadsCheck() override;
  std::string_view name() const override { return "downloads"; }
  core::Status start(EventSink& sink) override;
  void poll(EventSink& sink) override;
  std::size_t hashes() const { return hashes_.size(); }

 private:
  void reload_hashes();
  void check(const std::string& path, EventSink& sink);

  Options options_;
  std::vector<std::unique_ptr<DirWatch>> watches_;
  std::map<std::string, std::chrono::steady_clock::time_point> pending_;
  std::set<std::string> hashes_;
  int64_t hashes_mtime_ = -2;
};

/// The folders of each user profile (C:\Users\*\<sub>, Public and the default profiles left out)
/// that exist.
std::vector<std::string> profile_folders(const std::vector<std::string>& subfolders);

/// Every collector above as configured (the Linux agent's keys where they apply), and the
/// event-log watch attached to `alerts`.
class WindowsCollectors {
 public:
  WindowsCollectors(const core::Config& config, const std::string& state_dir,
                    EventLogAlerts& alerts);
  ~WindowsCollectors();
  /// Starts each; one that cannot start is left out with a warning.
  void start(EventSink& sink);
  void poll(EventSink& sink);
  void stop();
  /// True when no collector runs (the agent may then sleep until the event logs have news).
  bool empty() const { return collectors_.empty(); }

 private:
  std::unique_ptr<EventLogWatch> watch_;
  std::vector<std::unique_ptr<Collector>> collectors_;
};

}  // namespace mimamori::host
