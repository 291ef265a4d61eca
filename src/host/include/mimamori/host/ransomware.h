#pragma once
/// Ransomware: watches user folders for what encryption in bulk looks like — a process
/// rewriting many files within seconds so that their content no longer matches their type and
/// turns into high-entropy noise (a type change plus an entropy jump; raw entropy alone would
/// flag every compressed office file), renames to new extensions, and any touch of the canary
/// files placed in the folders. The response (alert only, SIGSTOP or SIGKILL of the process)
/// is decided on the event's own thread, in milliseconds.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mimamori/core/config.h"
#include "mimamori/host/collector.h"
#include "mimamori/host/ransomware_content.h"

namespace mimamori::host {

/// What to do with a process found encrypting.
enum class RansomwareResponse : uint8_t { kAlert, kStop, kKill };

/// `ransomware.response` of the configuration (alert, stop or kill; default stop); anything else
/// is a ConfigError naming the key. Both platforms' collectors read it here.
RansomwareResponse ransomware_response(const core::Config& cfg);

/// Makes `e` the ransomware alert: the canary one or the burst one (same ids and wording on both
/// platforms).
void make_ransomware_alert(core::Event& e, bool canary);

/// The ransomware collector.
class RansomwareGuard : public Collector {
 public:
  struct Options {
    std::vector<std::string> paths;  ///< user folders to guard
    RansomwareResponse response = RansomwareResponse::kStop;
    bool canaries = true;
    unsigned threshold = 3;  ///< suspicious writes by one process within `window`
    std::chrono::milliseconds window{5000};
    std::size_t max_dirs = 20000;
    std::vector<std::string> allow_exe;  ///< executables never acted on (backup tools)
  };
  explicit RansomwareGuard(Options options);
  ~RansomwareGuard() override;
  std::string_view name() const override { return "ransomware"; }
  core::Status start(EventSink& sink) override;
  void poll(EventSink& sink) override;
  void stop() override;

  /// Canary files placed (for tests and the log).
  const std::vector<std::string>& canaries() const { return canary_paths_; }

 private:
  struct Suspect {
    std::vector<std::chrono::steady_clock::time_point> times;
    std::vector<std::string> samples;
    uint64_t count = 0;
    std::chrono::steady_clock::time_point first;
    bool acted = false;
  };
  void loop();
  void on_write(int pid, const std::string& path, int fd);
  void on_canary(int pid, const std::string& path, std::string_view what);
  void act(int pid, Suspect& s, bool canary, const std::string& trigger);
  void mark_tree(const std::string& root);
  void place_canaries();

  Options options_;
  EventSink* sink_ = nullptr;
  int fan_fd_ = -1;
  int in_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::map<int, Suspect> suspects_;
  std::set<std::string> canary_set_;
  std::set<std::pair<uint64_t, uint64_t>> canary_inodes_;  // (dev, inode): names change
  std::chrono::steady_clock::time_point canary_tripped_{};
  std::vector<std::string> canary_paths_;
  std::map<int, std::string> in_dirs_;
  std::size_t marked_ = 0;
  int last_pid_ = 0;
  std::chrono::steady_clock::time_point last_pid_time_;
};

}  // namespace mimamori::host
