#pragma once
/// ProcessChains: detections that no single command line shows, read from /proc at each exec —
/// a shell or interpreter fed through a pipe by a downloader (`curl … | sh` typed in a shell:
/// two sibling processes joined by a pipe), a file run moments after a downloader wrote it, a
/// program run from /tmp, /var/tmp, /dev/shm or a memfd, and a shell or interpreter whose stdin
/// or stdout is a network socket. Each finding names the chain: parent, siblings, the
/// process on the other end, the file and its hash.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mimamori/core/event.h"
#include "mimamori/host/process_watch.h"

namespace mimamori::host {

/// One process of a chain as an alert shows it.
struct ChainMember {
  int pid = 0;
  uint32_t uid = 0;
  std::string user;
  std::string exe;
  std::string cmdline;
};

/// One process-chain detection.
struct ChainFinding {
  uint64_t sid = 0;
  std::string signature;
  int severity = 1;    ///< Suricata's scale: 1 high, 2 medium, 3 low
  std::string kind;    ///< pipe_to_shell, downloaded_exec, temp_exec, memfd_exec, socket_shell
  ChainMember parent;  ///< parent of the process that started
  /// The process the alert is about when it is not the one that just started (a shell that
  /// started before the downloader feeding it).
  std::optional<ChainMember> subject;
  std::optional<ChainMember> source;        ///< the downloader (pipe writer, file writer)
  std::vector<ChainMember> siblings;        ///< other children of the same parent
  std::string file, file_sha256;            ///< the program run (downloaded/temporary/memfd)
  int64_t file_age_s = -1;                  ///< seconds since the file was last written
  std::string socket_proto, socket_remote;  ///< socket_shell: the peer ("203.0.113.9:4444")
  uint64_t pipe_inode = 0;                  ///< pipe_to_shell: the pipe joining the two
  /// pipe_to_shell: the downloader had exited before its output could be read, so the pipe is
  /// not proven to be its own; it is the shell's sibling that ran moments before.
  bool source_exited = false;
};

/// Adds the `chain` object of `f` to an event (the alert about the process).
void add_chain(core::Event& e, const ChainFinding& f);

/// Whether a program is a shell / an interpreter (by the base name of its executable).
bool is_shell_or_interpreter(std::string_view exe);

/// Whether a started program fetches or decodes a payload (curl, wget, `base64 -d`, a python or
/// perl one-liner that opens a URL or socket).
bool is_downloader(std::string_view exe, std::string_view cmdline);

/// The process-chain detections, kept across exec events (one per ProcessWatch).
class ProcessChains {
 public:
  /// `proc`: where /proc is (a folder in tests of the pure parts).
  explicit ProcessChains(std::string proc = "/proc");
  /// Checks the process that just started; appends findings to `out`.
  void check(const ProcessInfo& p, std::vector<ChainFinding>& out);

  /// How long a downloader is remembered (for a pipe reader or a file run later).
  static constexpr std::chrono::seconds kMemory{300};
  /// How long before a shell a downloader that exited unread may stand for its pipe's writer.
  static constexpr std::chrono::seconds kExitedWriter{5};

 private:
  struct Recent {
    std::chrono::steady_clock::time_point at;
    int64_t started_wall = 0;  // seconds since the epoch
    ChainMember who;
    std::string cwd;
    uint64_t stdout_pipe = 0;
    int ppid = 0;
    bool stdout_unread = false;  // gone before its stdout could be read
  };
  std::string fd_link(int pid, int fd) const;
  std::vector<int> children_of(int ppid) const;
  std::optional<ChainMember> member(int pid) const;
  ChainMember parent_of(const ProcessInfo& p) const;
  std::vector<ChainMember> siblings_of(const ProcessInfo& p) const;
  void expire();
  bool first_report(uint64_t key);

  std::string proc_;
  std::deque<Recent> recent_;
  std::set<uint64_t> reported_pipes_;
};

}  // namespace mimamori::host
