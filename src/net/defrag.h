#pragma once
// IP fragment reassembly (IPv4 and IPv6) for the decoder. Trackers come from a fixed pool (the
// oldest gives way when it is full, counted as a memcap hit); the first fragment to cover a
// byte wins; datagrams time out. One per Decoder, used by its thread only.

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mimamori/core/clock.h"
#include "mimamori/core/ip_address.h"
#include "mimamori/net/decode.h"

namespace mimamori::net {

class Defragmenter {
 public:
  Defragmenter(uint32_t max_trackers, uint32_t max_frags, int64_t timeout_us)
      : max_trackers_(max_trackers), max_frags_(max_frags), timeout_us_(timeout_us) {}

  struct Key {
    core::IpAddress src, dst;
    uint32_t id = 0;
    uint8_t proto = 0;
    bool operator==(const Key&) const = default;
  };

  /// Adds a fragment (`payload` at byte `offset`, `more` = more fragments follow). `header` is
  /// what to put in front of the reassembled datagram (the first fragment's link-layer bytes,
  /// `prefix` long, then its IP header). Returns true when the datagram is complete: `out` then
  /// holds header + payload and `out_prefix` the length of the link-layer part.
  bool add(const Key& key, core::Timestamp now, std::string_view header, uint32_t prefix,
           uint32_t offset, std::string_view payload, bool more, std::string& out,
           uint32_t& out_prefix, DecodeStats& stats, Anomaly& anomaly);

 private:
  struct Tracker {
    Key key;
    bool used = false;
    uint64_t hash = 0;
    uint64_t generation = 0;
    uint32_t idx = 0;
    core::Timestamp first_seen, last_seen;
    std::string header, data;
    std::vector<std::pair<uint32_t, uint32_t>> ranges;
    uint32_t total = 0;
    uint32_t fragments = 0;
    uint32_t prefix = 0;  // link-layer bytes at the start of `header`
  };

  static uint64_t key_hash(const Key& k);

  Tracker* find(const Key& k);
  Tracker* allocate(const Key& k, DecodeStats& stats);
  void release(Tracker& t);
  void expire(core::Timestamp now, DecodeStats& stats);

  uint32_t max_trackers_, max_frags_;
  int64_t timeout_us_;
  std::deque<Tracker> pool_;  // deque: trackers keep their address as the pool grows
  std::unordered_multimap<uint64_t, uint32_t> index_;
  std::vector<uint32_t> free_;
  std::deque<std::pair<uint32_t, uint64_t>> order_;  // trackers by age (index, generation)
  uint64_t generation_ = 0;
  core::Timestamp last_sweep_;
};

}  // namespace mimamori::net
