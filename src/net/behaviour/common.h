#pragma once
// Private to behaviour/: the parts every behaviour detector uses — host keys, capped tables
// with eviction counted, small distinct-value sets, and the alert builder.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mimamori/core/event.h"
#include "mimamori/core/hash.h"
#include "mimamori/net/behaviour.h"
#include "mimamori/net/detect.h"

namespace mimamori::net::behaviour {

inline constexpr int64_t kSecond = 1'000'000;

// A 64-bit key of an address (and whatever else is mixed in after it).
inline uint64_t key_of(const core::IpAddress& a, uint64_t seed = 14695981039346656037ull) {
  const auto& b = a.bytes();
  return core::fnv1a64(
      std::string_view(reinterpret_cast<const char*>(b.data()), a.is_v4() ? 4 : 16), seed);
}
inline uint64_t mix(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    h ^= (v >> (8 * i)) & 0xff;
    h *= 1099511628211ull;
  }
  return h;
}
// A 32-bit tag of an address, for distinct-host sets.
inline uint32_t tag_of(const core::IpAddress& a) {
  uint64_t h = key_of(a);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

struct IdentityHash {
  size_t operator()(uint64_t k) const { return static_cast<size_t>(k); }
};

// Whether an address is the customer's own (HOME_NET).
class HomeNet {
 public:
  explicit HomeNet(const std::vector<IpNetwork>& nets) : nets_(nets) {}
  bool contains(const core::IpAddress& a) const {
    for (const auto& n : nets_)
      if (n.contains(a)) return true;
    return false;
  }

 private:
  std::vector<IpNetwork> nets_;
};

// Multicast, broadcast and unspecified destinations: never a scan target or a peer. An IPv4
// address ending in .0 or .255 is taken for a subnet's broadcast only inside the home network:
// outside it, where the prefix is not known, such an address is an ordinary host (a /16 holds
// 254 of them), and a C2 server there must not be overlooked.
inline bool not_unicast(const core::IpAddress& a, const HomeNet& home) {
  const auto& b = a.bytes();
  if (a.is_v4())
    return b[0] >= 224 || b[0] == 0 || ((b[3] == 255 || b[3] == 0) && home.contains(a));
  return b[0] == 0xff || a == core::IpAddress{};
}

// Whether a (lowercase) name is one of the allowed domains or under one of them.
inline bool allowed_name(const std::vector<std::string>& allow, std::string_view name) {
  for (const auto& a : allow) {
    if (name.size() == a.size() ? name == a
                                : name.size() > a.size() && name.ends_with(a) &&
                                      name[name.size() - a.size() - 1] == '.')
      return true;
  }
  return false;
}

// A table keyed by a 64-bit key, holding at most `cap` entries: entries idle past the ttl are
// swept (at most once a second of packet time) when it is full, else an arbitrary one goes;
// each removal for room is counted. V has `int64_t last`.
template <class V>
class CappedTable {
 public:
  CappedTable(size_t cap, std::atomic<uint64_t>* evicted)
      : cap_(std::max<size_t>(cap, 1)), evicted_(evicted) {}

  V& get(uint64_t key, int64_t now, int64_t ttl) {
    auto it = map_.find(key);
    if (it != map_.end()) {
      if (now - it->second.last > ttl) it->second = V{};
      it->second.last = now;
      return it->second;
    }
    if (map_.size() >= cap_) make_room(now, ttl);
    V& v = map_[key];
    v.last = now;
    return v;
  }
  V* find(uint64_t key) {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  size_t size() const { return map_.size(); }

 private:
  void make_room(int64_t now, int64_t ttl) {
    if (now - last_sweep_ >= kSecond) {
      last_sweep_ = now;
      std::erase_if(map_, [&](const auto& kv) { return now - kv.second.last > ttl; });
    }
    while (map_.size() >= cap_) {
      map_.erase(map_.begin());
      evicted_->fetch_add(1, std::memory_order_relaxed);
    }
  }
  std::unordered_map<uint64_t, V, IdentityHash> map_;
  size_t cap_;
  std::atomic<uint64_t>* evicted_;
  int64_t last_sweep_ = INT64_MIN / 2;
};

// Distinct 32-bit values, kept up to a limit (the threshold): counting past it is not needed.
struct Distinct {
  std::vector<uint32_t> values;
  // Adds v; returns the new count.
  size_t add(uint32_t v, size_t limit) {
    if (values.size() >= limit) return values.size();
    if (std::find(values.begin(), values.end(), v) == values.end()) values.push_back(v);
    return values.size();
  }
};

// The alert of a behaviour detector: its gid, the sid, and what was counted (`behaviour`).
core::Alert make_alert(BehaviourKind kind, uint32_t sid_offset, int severity, std::string signature,
                       std::string_view category);

// A service name for well-known ports ("SSH", "RDP", ...), or "port N".
std::string service_name(uint16_t port);

// Shared by the detectors of one worker.
struct Shared {
  const BehaviourOptions& opt;
  HomeNet home;
  BehaviourCounters& counters;
  void count_alert(BehaviourKind k) {
    counters.alerts[static_cast<int>(k)].fetch_add(1, std::memory_order_relaxed);
  }
  std::atomic<uint64_t>* evicted(BehaviourKind k) { return &counters.evicted[static_cast<int>(k)]; }
};

// A file on an FTP data connection being hashed (files.cc).
struct FtpData;
struct FtpDataDeleter {
  void operator()(FtpData* d) const;
};

// Per-flow state of the behaviour detector.
struct FlowMarks : FlowState {
  bool counted_start = false;  // the flow's start was counted (scan, beacon, lateral)
  bool session_done = false;   // password guessing: the session's end was judged
  bool exposed_done = false;
  bool success_done = false;
  bool guess_port = false;         // to an authentication port
  bool smb = false;                // port 445/139: looked at for admin shares
  uint32_t smb_scanned = 0;        // to-server bytes searched for admin shares
  uint8_t smb_seen = 0;            // bits: ADMIN$, C$, svcctl already alerted
  bool cleartext_port = false;     // to an FTP, POP3, IMAP, SMTP or Telnet port
  bool cleartext_done = false;     // a cleartext login was reported, or can no longer be seen
  std::string cleartext_user;      // FTP/POP3 USER, or SMTP AUTH LOGIN's state
  std::string cleartext_pending;   // an unfinished client line; Telnet: the server's last text
  uint8_t telnet = 0;              // Telnet login: 0 no prompt yet, 1 user typed, 2 awaiting
                                   // the password prompt, 3 password typed
  uint8_t telnet_iac[2] = {0, 0};  // option negotiation parse state, per direction
  uint16_t telnet_typed = 0;       // password characters typed (never kept)
  bool ftp_control = false;        // an FTP control connection: PASV/EPSV/PORT/EPRT, RETR/STOR
  uint64_t ftp_expect = 0;         // the key of the data connection it announced last
  std::unique_ptr<std::string[]> ftp_line;            // its unfinished lines, per direction (2)
  std::unique_ptr<FtpData, FtpDataDeleter> ftp_data;  // on an FTP data connection
  bool upload_checked = false;                        // looked at for uploads (once it sent 64 KiB)
  bool upload = false;          // from HOME_NET to the internet: its bytes are counted
  uint64_t upload_counted = 0;  // to-server bytes of the flow already added to the window
};

}  // namespace mimamori::net::behaviour
