#pragma once
/// ProcessWatch: every program started (netlink process connector; without root, /proc
/// polling, which misses short-lived processes) with its command line, parent, user and the
/// SHA-256 of its executable, checked against built-in detections (reverse shells,
/// download-and-execute pipelines, crypto miners) and, when given, Sigma process_creation rules.

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mimamori/host/collector.h"
#include "mimamori/match/pattern_set.h"

namespace mimamori::host {

/// One started process as the agent describes it.
struct ProcessInfo {
  int pid = 0;
  int ppid = 0;
  uint32_t uid = 0;
  std::string user;
  std::string exe;
  std::string cmdline;
  std::string cwd;
  std::string sha256;  ///< of the executable (cached by path, size and mtime)
  std::string parent_exe;
  std::string parent_cmdline;
};

/// Reads /proc/<pid>; nullopt when the process has gone.
std::optional<ProcessInfo> read_process(int pid);

/// Signature ids of the built-in process detections.
namespace process_sid {
inline constexpr uint64_t kReverseShell = 9100301;
inline constexpr uint64_t kDownloadExecute = 9100302;
inline constexpr uint64_t kMiner = 9100303;
inline constexpr uint64_t kPipeToShell = 9100304;     ///< downloader piped into a shell
inline constexpr uint64_t kSocketShell = 9100305;     ///< shell with a socket as stdin/stdout
inline constexpr uint64_t kTempExec = 9100306;        ///< run from /tmp, /var/tmp, /dev/shm
inline constexpr uint64_t kFilelessExec = 9100307;    ///< run from a memfd
inline constexpr uint64_t kDownloadedExec = 9100308;  ///< run moments after a download
inline constexpr uint64_t kModuleLoad = 9100309;      ///< insmod of a module file
inline constexpr uint64_t kSigmaBase = 9110000;       ///< Sigma rules: this plus the rule's index
}  // namespace process_sid

/// The built-in command-line detections, compiled once.
class ProcessDetections {
 public:
  /// Compiles the built-in patterns (a failure is a bug: they are fixed).
  ProcessDetections();
  /// Appends (sid, signature) of each detection matching `p`.
  void check(const ProcessInfo& p, std::vector<std::pair<uint64_t, std::string>>& hits);

 private:
  std::optional<match::PatternSet> set_;
  match::PatternSet::Scratch scratch_;
  std::string subject_;
};

/// A hook for rule engines (Sigma): given the process, appends (rule title, level) matches.
using ProcessRuleHook =
    std::function<void(const ProcessInfo&, std::vector<std::pair<std::string, std::string>>&)>;

class ProcessChains;
struct ChainFinding;

/// The process collector.
class ProcessWatch : public Collector {
 public:
  explicit ProcessWatch(ProcessRuleHook rules = {});
  ~ProcessWatch() override;
  std::string_view name() const override { return "process"; }
  core::Status start(EventSink& sink) override;
  void poll(EventSink& sink) override;
  void stop() override;

 private:
  void loop();
  void work();
  void report(int pid, EventSink& sink);
  void report(ProcessInfo p, EventSink& sink);
  std::string exe_hash(const std::string& exe);

  ProcessRuleHook rules_;
  ProcessDetections detections_;
  std::unique_ptr<ProcessChains> chains_;
  EventSink* sink_ = nullptr;
  int nl_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;  // reads exec events and /proc at once, at real-time priority if allowed
  std::thread worker_;  // hashes, judges and writes what the reader read
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<ProcessInfo> queue_;
  bool stopping_ = false;
  uint64_t queue_drops_ = 0;
  std::mutex mu_;
  std::set<int> known_pids_;  // /proc polling fallback
  bool polling_ = false;
  uint64_t overruns_ = 0;  // times the kernel dropped exec events: our socket buffer was full
  std::map<std::string, std::pair<std::string, std::string>> hash_cache_;  // exe -> (key, hash)
  std::vector<std::pair<uint64_t, std::string>> hits_;
  std::vector<std::pair<std::string, std::string>> rule_hits_;
  std::vector<ChainFinding> chain_hits_;
};

}  // namespace mimamori::host
