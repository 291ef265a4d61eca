#pragma once
/// Three smaller collectors: YaraScan (new or changed files in watched folders against a YARA
/// rules directory), NetWatch (connections to addresses on the threat list, from /proc/net)
/// and Inventory (OS, kernel, packages, listening ports, users; daily).

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "mimamori/core/ip_address.h"
#include "mimamori/host/collector.h"

namespace mimamori::host {

/// Signature ids.
namespace system_sid {
inline constexpr uint64_t kYara = 9100401;
inline constexpr uint64_t kKnownBadHash = 9100402;
inline constexpr uint64_t kThreatListConnection = 9100501;
}  // namespace system_sid

/// YARA scanning of files written into watched folders: the rules built into the agent
/// (packaging/yara), the rule files of a folder, and a list of known-bad SHA-256 hashes.
class YaraScan : public Collector {
 public:
  struct Options {
    std::string rules_dir;           ///< extra rule files (.yar/.yara); may be missing
    bool builtin_rules = true;       ///< the rules that ship with the agent
    std::string hash_list;           ///< SHA-256 hashes, one a line (may be missing)
    std::vector<std::string> paths;  ///< folders watched (and their subfolders)
    bool scan_existing = false;      ///< also scan what is there at start
    uint64_t max_file_bytes = 64 << 20;
  };
  explicit YaraScan(Options options);
  ~YaraScan() override;
  std::string_view name() const override { return "yara"; }
  core::Status start(EventSink& sink) override;
  void poll(EventSink& sink) override;

  /// Files larger than this are scanned in blocks of this size (bounded memory; a string that
  /// spans two blocks is not seen), smaller ones whole.
  static constexpr std::size_t kBlock = 4 << 20;

 private:
  void scan(const std::string& path, EventSink& sink);
  void watch_tree(const std::string& root);
  bool load_rules();     // compiles the rules into rules_ (initialising libyara) if needed
  void release_rules();  // frees rules_ and lets libyara go
  void reload_hashes();  // re-reads the hash list when it changed

  /// Compiled rules are released after this long without a file to scan.
  static constexpr std::chrono::seconds kIdleRelease{120};

  Options o_;
  std::vector<std::string> rule_files_;  // usable rule files (checked at start)
  std::chrono::steady_clock::time_point last_scan_{};
  void* rules_ = nullptr;  // YR_RULES*
  int in_fd_ = -1;
  std::map<int, std::string> dirs_;
  std::set<std::string> queue_;
  std::set<std::string> hashes_;
  // What each alerted file was when it was alerted on (inode, size, mtime in ns): a file whose
  // two writes (cp, then an append) are both seen after the second is alerted on once. A file
  // that raised nothing is scanned again at its next write, whatever its times say.
  std::map<std::string, std::tuple<uint64_t, int64_t, int64_t>> alerted_;
  int64_t hashes_mtime_ = -1;
};

/// One parsed line of /proc/net/{tcp,tcp6,udp,udp6}.
struct SocketEntry {
  std::string proto;  ///< TCP or UDP
  core::IpAddress local, remote;
  uint16_t local_port = 0, remote_port = 0;
  int state = 0;  ///< kernel TCP state (1 established, 10 listen)
  uint64_t inode = 0;
};

/// Reads the kernel's socket tables under `proc_net` (normally /proc/net).
std::vector<SocketEntry> read_sockets(const std::string& proc_net = "/proc/net");

/// The process holding socket `inode` (scans /proc/*/fd: only for a socket of interest); 0 when
/// none is found.
int socket_owner(uint64_t inode);

/// A set of IPv4/IPv6 networks (addresses or CIDR blocks).
class AddressList {
 public:
  /// Loads one address or CIDR per line (`#` comments); bad lines are skipped with a warning.
  core::Status load(const std::string& path);
  /// Adds one address or CIDR; false when it is not one.
  bool add(std::string_view text);
  bool contains(const core::IpAddress& ip) const;
  std::size_t size() const { return nets_.size(); }

 private:
  std::vector<std::pair<core::IpAddress, int>> nets_;
};

/// Connections to addresses on the threat list.
class NetWatch : public Collector {
 public:
  NetWatch(std::string threat_list, std::chrono::seconds interval);
  std::string_view name() const override { return "network"; }
  core::Status start(EventSink& sink) override;
  void poll(EventSink& sink) override;

 private:
  std::string threat_list_;
  AddressList list_;
  int64_t list_mtime_ = 0;
  std::chrono::seconds interval_;
  std::chrono::steady_clock::time_point next_{};
  std::map<std::string, std::chrono::steady_clock::time_point> reported_;
};

/// The query the inventory gives `rpm -qa` (name, tab, [epoch:]version-release, one a line).
inline constexpr const char* kRpmQueryFormat =
    "%{NAME}\\t%|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}\\n";

/// Installed packages as `name=version` from the output of `rpm -qa --queryformat
/// kRpmQueryFormat`, sorted; lines that are not `name<TAB>version` are skipped and counted in
/// `bad_lines`.
std::vector<std::string> parse_rpm_packages(std::string_view output, uint64_t* bad_lines = nullptr);

/// Daily inventory.
class Inventory : public Collector {
 public:
  explicit Inventory(std::chrono::seconds interval) : interval_(interval) {}
  std::string_view name() const override { return "inventory"; }
  core::Status start(EventSink&) override { return {}; }
  void poll(EventSink& sink) override;

 private:
  std::chrono::seconds interval_;
  std::chrono::steady_clock::time_point next_{};
};

}  // namespace mimamori::host
