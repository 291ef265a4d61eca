#pragma once
/// Behaviour detectors: what signatures miss at a small office's gateway — port scans and
/// sweeps, password guessing (and a login that succeeds after it), services exposed to the
/// internet, beaconing, DNS tunnels and DGA names, lateral movement over SMB/RPC/RDP/WinRM/SSH,
/// and files downloaded over HTTP hashed against known-bad lists (the EICAR test file out of
/// the box). They run as one Detector ("behaviour") after the rule engine.
///
/// Each detector has its own gid (and sids under it), thresholds under `behaviour.<name>.*`
/// (README, "Behaviour detectors"), and alerts that say what was counted (`alert.behaviour`).
/// State is kept per host pair in tables capped by `behaviour.<name>.max-entries`; what the cap
/// evicts is counted (`stats.behaviour`). A worker's instance sees the flows of its worker only:
/// with several workers, a host's connections are split between them and the counts too.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "mimamori/core/fields.h"
#include "mimamori/net/detect.h"
#include "mimamori/net/ips_policy.h"

namespace mimamori::core {
class Config;
}

namespace mimamori::net {

/// The detectors, their gids and their sids (gid * 1 + n, see each alert's text in README).
enum class BehaviourKind : uint8_t {
  kScan = 0,
  kGuess,
  kExposed,
  kBeacon,
  kDns,
  kLateral,
  kFiles,
  kCount
};
inline constexpr uint32_t kBehaviourGidBase = 9200100;  ///< scan; each next kind +100
inline constexpr uint32_t behaviour_gid(BehaviourKind k) {
  return kBehaviourGidBase + 100 * static_cast<uint32_t>(k);
}
/// "scan", "guess", "exposed", "beacon", "dns", "lateral", "files".
const char* behaviour_name(BehaviourKind k);

/// Counters shared by every worker's instance (relaxed atomics, touched on alerts, evictions and
/// files only): written in the stats record as `stats.behaviour`.
struct BehaviourCounters {
  std::atomic<uint64_t> alerts[static_cast<int>(BehaviourKind::kCount)] = {};
  std::atomic<uint64_t> evicted[static_cast<int>(BehaviourKind::kCount)] = {};
  std::atomic<uint64_t> files_hashed{0}, files_truncated{0};
  /// Appends `"behaviour": {"scan": {"alerts": n, "evicted": n}, ..., "files_hashed": n}`.
  void append_to(core::Fields& f) const;
};

/// Known-bad file hashes (SHA-256 and MD5, lowercase hex) with the name of each.
struct HashList {
  std::unordered_map<std::string, std::string> sha256, md5;
  /// The built-in list: the EICAR test file.
  static HashList builtin();
  /// Adds a list file: one hash a line ("hash [name]", '#' comments), or CSV rows whose first
  /// field of 32 or 64 hex digits is the hash (the rest of the row is its name). A bad line is
  /// reported (file:line, why) and skipped; an unreadable file is an error.
  core::Status add_file(const std::string& path);
};

struct BehaviourOptions {
  bool enabled = true;
  std::vector<IpNetwork>
      home_net;  ///< `vars.address-groups.HOME_NET` (RFC 1918 and ULA by default)

  struct Scan {
    bool enabled = true;
    int64_t window_s = 60;
    uint32_t ports = 20;  ///< vertical: distinct ports of one host
    uint32_t hosts = 20;  ///< horizontal / sweep: distinct hosts on one port (or pinged)
    size_t max_entries = 65536;
  } scan;
  struct Guess {
    bool enabled = true;
    int64_t window_s = 600;
    uint32_t sessions = 10;        ///< short sessions of one shape
    uint32_t failures = 5;         ///< protocol-visible failed logins
    int64_t short_s = 30;          ///< a session shorter than this is "short"
    double shape_tolerance = 0.3;  ///< sizes within this fraction of the median are one shape
    int64_t success_s = 120;       ///< a session this long after guessing counts as a login
    size_t max_entries = 65536;
  } guess;
  struct Exposed {
    bool enabled = true;
    std::vector<uint16_t> ports;  ///< management and file-sharing ports (defaults in README)
    size_t max_entries = 4096;
  } exposed;
  struct Beacon {
    bool enabled = true;
    uint32_t min_count = 8;  ///< connections before judging
    double jitter = 0.2;     ///< tolerated deviation, fraction of the period
    int64_t min_period_s = 10, max_period_s = 3600 * 6;
    double fit = 0.8;                ///< fraction of intervals that must fit the period
    std::vector<std::string> allow;  ///< domain suffixes never reported (the defaults, plus these)
    std::vector<uint16_t> ignore_ports;  ///< NTP, DNS and the like
    size_t max_entries = 65536;
  } beacon;
  struct Dns {
    bool enabled = true;
    int64_t window_s = 300;
    uint32_t tunnel_names = 30;      ///< long, random-looking unique names under one domain
    uint32_t min_label = 24;         ///< the subdomain part counted as long from this length
    double min_entropy = 3.5;        ///< bits per character of that part
    uint32_t dga_domains = 10;       ///< distinct DGA-looking registered domains of one client
    std::vector<std::string> allow;  ///< registered domains never reported
    size_t max_entries = 65536;
  } dns;
  struct Lateral {
    bool enabled = true;
    int64_t window_s = 300;
    uint32_t hosts = 5;  ///< distinct internal hosts reached on admin ports
    std::vector<uint16_t> ports;
    std::vector<IpNetwork> allow;  ///< sources never reported (backup servers, management)
    bool admin_shares = true;      ///< ADMIN$/C$ tree connects and svcctl over SMB
    size_t max_entries = 65536;
  } lateral;
  struct Files {
    bool enabled = true;
    bool fileinfo = true;              ///< `fileinfo` records for every hashed HTTP body
    bool magic = true;                 ///< the content's type (libmagic) in `fileinfo.magic`
    uint32_t body_limit = 100 * 1024;  ///< the HTTP response body limit (bodies cut there)
    std::shared_ptr<const HashList> hashes;
  } files;

  /// Reads `behaviour.*` and HOME_NET; throws core::ConfigError naming the key and the bad item,
  /// and reads the hash-list files (a bad line is logged and skipped).
  static BehaviourOptions from_config(const core::Config& config);
};

/// One worker's behaviour detector (one Detector running all enabled detectors), or null when
/// all are off.
std::unique_ptr<Detector> make_behaviour_detector(const BehaviourOptions& options,
                                                  std::shared_ptr<BehaviourCounters> counters);

}  // namespace mimamori::net
