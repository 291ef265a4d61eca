#pragma once
/// Behaviour: what an intruder does once in, seen as it happens and naming who did it —
/// sudoers and sudo-group changes, new SUID/SGID files, log tampering (a log truncated, deleted
/// or renamed outside log rotation; shell history cleared), the agent's own configuration or
/// program changed (fanotify with directory file handles: the acting pid and the name, even for
/// deletes and chmod), and a new listening service or kernel module (short polls of /proc).
/// Acts of a package manager (and its maintainer scripts) are reported at low severity.

#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mimamori/host/collector.h"
#include "mimamori/host/file_watch.h"

namespace mimamori::host {

/// Signature ids of the behaviour alerts.
namespace behaviour_sid {
inline constexpr uint64_t kSudoers = 9100601;         ///< sudoers or sudoers.d changed
inline constexpr uint64_t kAdminGroup = 9100602;      ///< a user added to sudo/wheel/admin
inline constexpr uint64_t kSuid = 9100603;            ///< a new SUID/SGID file
inline constexpr uint64_t kLogTampering = 9100604;    ///< a log truncated, deleted or renamed
inline constexpr uint64_t kHistoryCleared = 9100605;  ///< shell history deleted or emptied
inline constexpr uint64_t kAgentConfig = 9100606;     ///< the agent's configuration changed
inline constexpr uint64_t kAgentProgram = 9100607;    ///< the agent's program changed
inline constexpr uint64_t kListener = 9100608;        ///< a new listening service
inline constexpr uint64_t kModule = 9100609;          ///< a kernel module loaded
}  // namespace behaviour_sid

/// Members of each group named in `groups`, from the text of a group(5) file.
std::map<std::string, std::set<std::string>> group_members(std::string_view text,
                                                           const std::vector<std::string>& groups);

/// Module names from the text of /proc/modules.
std::set<std::string> module_names(std::string_view text);

/// The behaviour collector.
class Behaviour : public Collector {
 public:
  struct Options {
    std::string sudoers = "/etc/sudoers";
    std::string sudoers_dir = "/etc/sudoers.d";
    std::string group_file = "/etc/group";
    std::vector<std::string> admin_groups = {"sudo", "wheel", "admin"};
    std::vector<std::string> suid_paths;  ///< folders where a new SUID/SGID file is an alert
    int suid_depth = 2;                   ///< their subfolders to this depth
    std::vector<std::string> logs;        ///< log files guarded against truncation and removal
    std::vector<std::string> homes;       ///< home folders (shell history)
    std::string self_config;              ///< the agent's configuration file (empty: none)
    std::string self_program;             ///< the agent's program
    std::chrono::milliseconds poll_interval{2000};  ///< listeners and /proc/modules
    std::string proc_modules = "/proc/modules";
    std::size_t max_marks = 4096;  ///< bound on marked folders (counted when it bites)
  };
  explicit Behaviour(Options options);
  ~Behaviour() override;
  std::string_view name() const override { return "behaviour"; }
  core::Status start(EventSink& sink) override;
  void poll(EventSink& sink) override;
  void stop() override;

 private:
  enum class Role : uint8_t { kNone, kSudoers, kGroup, kSelfConfig, kSelfProgram, kLog, kHistory };
  struct Act;

  void loop();
  /// `fresh`: a folder made after the start, whose SUID files are new, not the baseline.
  // Watches `dir`; for SUID folders, also its subfolders to the configured depth: queued on
  // `later` (breadth first) when given, else at once.
  void mark_dir(const std::string& dir, int depth, bool suid, bool fresh = false,
                std::deque<std::pair<std::string, int>>* later = nullptr);
  void mark_file(const std::string& path);
  void on_event(const std::string& dir, const std::string& name, uint64_t mask, int pid);
  Role role_of(const std::string& dir, const std::string& name, const std::string& path) const;
  void on_watched_file(Role role, const std::string& path, uint64_t mask, int pid);
  void on_log(Role role, const std::string& path, uint64_t mask, int pid);
  void queue_suid(const std::string& path, uint64_t mask, int pid);
  void on_suid(const std::string& path, uint64_t mask, int pid);
  void emit(const Act& act);
  void poll_listeners(EventSink& sink, bool first);
  void poll_modules(EventSink& sink, bool first);

  Options o_;
  EventSink* sink_ = nullptr;
  int fan_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
  // Fanotify thread only.
  std::map<std::string, std::string> dirs_;      // directory file handle -> path
  std::map<std::string, std::string> dir_keys_;  // path -> directory file handle
  std::map<std::string, int> suid_dirs_;         // path -> depth below its root
  std::set<std::string> homes_;
  std::set<std::string> logs_;
  std::map<std::string, FileState> files_;                     // sudoers, group, the agent's files
  std::map<std::string, std::pair<uint64_t, uint32_t>> suid_;  // path -> inode, mode
  std::map<std::string, uint64_t> sizes_;                      // logs and histories
  struct PendingSuid {
    int pid = 0;
    uint64_t mask = 0;
    std::chrono::steady_clock::time_point due;
  };
  std::map<std::string, PendingSuid> pending_suid_;  // SUID files judged after a moment
  uint64_t marks_over_ = 0;
  // poll() only.
  std::chrono::steady_clock::time_point next_poll_{};
  bool polled_ = false;
  std::set<std::string> listeners_;
  std::set<std::string> modules_;
  bool have_modules_ = false;
};

}  // namespace mimamori::host
