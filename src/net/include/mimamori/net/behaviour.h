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
#include <mutex>
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
  kIntel,
  kCleartext,
  kUpload,
  kCount
};
inline constexpr uint32_t kBehaviourGidBase = 9200100;  ///< scan; each next kind +100
inline constexpr uint32_t behaviour_gid(BehaviourKind k) {
  return kBehaviourGidBase + 100 * static_cast<uint32_t>(k);
}
/// "scan", "guess", "exposed", "beacon", "dns", "lateral", "files", "intel", "cleartext",
/// "upload".
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

/// Threat-intelligence indicators: addresses and networks, domains (a listed domain covers its
/// subdomains), TLS client fingerprints (JA3 hashes, JA4 strings), each with the name of its list.
struct IntelList {
  struct Range {
    uint32_t lo = 0, hi = 0;
    std::string name;
  };
  std::vector<Range> v4;  ///< sorted by lo, after finish()
  std::vector<std::pair<IpNetwork, std::string>> v6;
  std::unordered_map<std::string, std::string> domains;
  std::unordered_map<std::string, std::string> ja3, ja4;  ///< lowercase
  /// Adds a list file: one indicator a line — an IPv4/IPv6 address, a CIDR block, a domain, a
  /// URL (its host counts), `ja3:<md5 hex>`, `ja4:<fingerprint>` or a bare JA4 fingerprint —
  /// with '#' comments, or CSV rows (the first field that is one of those). A bad line is
  /// reported (file:line, why) and skipped.
  core::Status add_file(const std::string& path);
  void finish();
  /// The list naming this address, or null.
  const std::string* find(const core::IpAddress& a) const;
  /// The list naming this domain or one of its parents (lowercase, no final dot), or null.
  const std::string* find_domain(std::string_view name) const;
  /// The list naming this JA3 hash / JA4 fingerprint, or null.
  const std::string* find_ja3(std::string_view hash) const;
  const std::string* find_ja4(std::string_view fingerprint) const;
  bool empty() const {
    return v4.empty() && v6.empty() && domains.empty() && ja3.empty() && ja4.empty();
  }
};

/// The indicator and hash lists as loaded from their files, replaced whole when a file changes:
/// a worker keeps the lists it holds and takes the newer ones between packets (a version
/// number to compare, no lock on the packet path), so a reload drops no packet.
class LiveLists {
 public:
  struct Source {
    std::string path;
    bool optional = false;  ///< missing is "empty for now" (the server's list before a pull)
  };
  LiveLists(std::vector<Source> intel, std::vector<Source> hashes);
  /// Reads every file; an unreadable file that is not optional is an error.
  core::Status load();
  /// Re-reads the files when one changed (size or modification time; appeared or gone), or
  /// always with `force`. An unreadable file keeps the lists as they were, and says why.
  /// True when the lists were replaced.
  bool reload(bool force = false);
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  std::shared_ptr<const IntelList> intel() const;
  std::shared_ptr<const HashList> hashes() const;
  bool has_intel_sources() const { return !intel_src_.empty(); }

 private:
  core::Status read(std::shared_ptr<IntelList>& intel, std::shared_ptr<HashList>& hashes) const;
  std::string stamp() const;
  std::vector<Source> intel_src_, hash_src_;
  mutable std::mutex mu_;
  std::shared_ptr<const IntelList> intel_;
  std::shared_ptr<const HashList> hashes_;
  std::string stamp_;
  std::atomic<uint64_t> version_{0};
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
    uint32_t answer_names = 20;      ///< answers: distinct names under one domain before judging
    double txt_ratio = 0.5;          ///< ... of whose answers this share are TXT/NULL records
    double large_ratio = 0.5;        ///< ... or this share larger than large_answer
    uint32_t large_answer = 512;     ///< bytes of a DNS message counted as large
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
    bool fileinfo = true;  ///< `fileinfo` records for every hashed HTTP body
    bool magic = false;    ///< the content's type (libmagic) in `fileinfo.magic` (costly)
    uint32_t body_limit = 100 * 1024;  ///< the HTTP response body limit (bodies cut there)
    bool ftp = true;                   ///< files on FTP data connections hashed too
    uint64_t stream_depth = 1 << 20;   ///< stream.reassembly.depth: FTP files cut there
  } files;
  struct Intel {
    bool enabled = true;
  } intel;
  struct Cleartext {
    bool enabled = true;
  } cleartext;
  struct Upload {
    bool enabled = true;
    uint64_t bytes = 100ull * 1024 * 1024;  ///< more than this to one destination is large
    int64_t window_s = 3600;                ///< ... within this time
    int64_t learning_s = 86400;      ///< destinations contacted this long after start are known
    int severity = 3;                ///< low: an upload is a question to the customer
    std::vector<std::string> allow;  ///< cloud backup/storage and SaaS domains (and these)
    size_t max_entries = 65536;
  } upload;
  /// `behaviour.intel.lists` (and `behaviour.intel.server-list`, written from the server's
  /// threat indicators) and `behaviour.files.hash-lists`, reloadable while running.
  std::shared_ptr<LiveLists> lists;

  /// Reads `behaviour.*` and HOME_NET; throws core::ConfigError naming the key and the bad item,
  /// and reads the hash-list files (a bad line is logged and skipped).
  static BehaviourOptions from_config(const core::Config& config);
};

/// One worker's behaviour detector (one Detector running all enabled detectors), or null when
/// all are off.
std::unique_ptr<Detector> make_behaviour_detector(const BehaviourOptions& options,
                                                  std::shared_ptr<BehaviourCounters> counters);

}  // namespace mimamori::net
