#pragma once
// State of the rule detector per flow (flowbits, flowints, stream tails, session tags) and the
// entries it keeps per worker (thresholds, rate filters, host tags), with the helpers that count
// into them; and the scan memo of small app-layer buffers.
//
// Private to detector.cc, the only file to include it, which runs this code per packet. The
// contents keep the internal linkage (unnamed namespace) they had there: with external linkage
// GCC emits the hash-table code of these types out of line and no longer inlines it into the
// evaluation loop, so the split would change the hot path's machine code.

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_set>

#include "engine_impl.h"
#include "mimamori/core/hash.h"

namespace mimamori::net::rules {

namespace {

// A live `tag` (Suricata's tag data entry): what the alerting rule asked for and how much of
// it has passed. Kept on the flow (session) or on a host.
struct TagEntry {
  uint32_t sig = 0;  // signature index: the same rule alerting again restarts its entry
  TagSpec::Metric metric = TagSpec::Metric::kPackets;
  uint32_t count = 0;
  uint64_t packets = 0, bytes = 0;
  int64_t first_s = 0, last_s = 0;  // packet time, seconds
  uint32_t restarts = 0;            // alerts of the same rule on this owner since it began
};

// As Suricata: at most this many rules' tags on one flow or host; host tags not seen for
// kTagIdleSeconds are dropped (checked every kTagSweepSeconds of packet time), and at most
// kMaxTaggedHosts hosts carry tags at once (a flood of alerts cannot grow the table).
constexpr std::size_t kMaxTagsPerOwner = 50;
constexpr uint32_t kTagRestartLimit = 10;  // a rule alerting over and over restarts it so often
constexpr int64_t kTagIdleSeconds = 600;
constexpr int64_t kTagSweepSeconds = 60;
constexpr std::size_t kMaxTaggedHosts = 65536;

// Flowbits, flowints and alert bookkeeping of one flow.
struct RuleFlowState : net::FlowState {
  const RuleEngine* engine = nullptr;
  std::vector<uint64_t> bits;
  std::vector<int64_t> ints;
  std::vector<uint64_t> ints_set;
  bool passed = false;  // a pass rule without payload checks matched: the flow is let through
  std::unordered_set<uint64_t> app_alerted;  // (tx_id << 33) | (dir << 32) | sig
  // Per direction: the last stream bytes inspected (at most the seam index's overlap) and
  // the stream offset just past them, so that the next chunk is also scanned across the seam.
  struct Tail {
    std::array<char, SeamIndex::kMaxOverlap> bytes;
    std::size_t size = 0;
    std::string_view view() const { return {bytes.data(), size}; }
    // Keeps the last `keep` bytes of what it holds followed by `data`.
    void push(std::string_view data, std::size_t keep) {
      if (data.size() >= keep) {
        std::memcpy(bytes.data(), data.data() + data.size() - keep, keep);
        size = keep;
        return;
      }
      std::size_t old = std::min(size, keep - data.size());
      std::memmove(bytes.data(), bytes.data() + size - old, old);
      std::memcpy(bytes.data() + old, data.data(), data.size());
      size = old + data.size();
    }
  };
  Tail tail[2];  // inline: no allocation of its own
  uint64_t tail_end[2] = {0, 0};
  std::vector<TagEntry> tags;  // `tag:session` entries (empty unless a tagging rule alerted)

  bool bit(uint32_t id) const { return (bits[id >> 6] >> (id & 63)) & 1; }
  void set_bit(uint32_t id, bool v) {
    if (v) {
      bits[id >> 6] |= uint64_t(1) << (id & 63);
    } else {
      bits[id >> 6] &= ~(uint64_t(1) << (id & 63));
    }
  }
  bool int_set(uint32_t id) const { return (ints_set[id >> 6] >> (id & 63)) & 1; }
};

struct ThresholdEntry {
  int64_t window_start = 0;  // seconds
  uint32_t count = 0;
  bool alerted = false;
  uint64_t next = 0;  // backoff: the match count of the next alert
};

struct RateEntry {
  int64_t window_start = 0;  // seconds
  uint32_t count = 0;
  int64_t until = -1;  // the new action holds until then (seconds); -1: not in effect
};

uint64_t ip_key(const core::IpAddress& ip) {
  return core::fnv1a64(std::string_view(reinterpret_cast<const char*>(ip.bytes().data()), 16),
                       static_cast<uint64_t>(ip.family()));
}

struct IpHash {
  std::size_t operator()(const core::IpAddress& ip) const { return ip_key(ip); }
};

// Counts packet `p` into `tags` and removes the entries it exhausts. True when an entry still
// running tags `p` (the alerting packet itself was counted when the entry was made).
bool count_tags(std::vector<TagEntry>& tags, const Packet& p) {
  int64_t now = p.timestamp.seconds();
  bool tagged = false;
  std::erase_if(tags, [&](TagEntry& e) {
    e.last_s = now;
    ++e.packets;
    e.bytes += p.data.size();
    bool expired = false;
    switch (e.metric) {
      case TagSpec::Metric::kPackets:
        expired = e.packets > e.count;
        break;
      case TagSpec::Metric::kBytes:
        expired = e.bytes > e.count;
        break;
      case TagSpec::Metric::kSeconds:
        expired = now - e.first_s > static_cast<int64_t>(e.count);
        break;
    }
    tagged |= !expired;
    return expired;
  });
  return tagged;
}

// Starts (or, for a rule already tagging this owner, restarts) a tag; the alerting packet
// counts as its first.
void add_tag(std::vector<TagEntry>& tags, uint32_t sig, const TagSpec& spec, const Packet& p) {
  int64_t now = p.timestamp.seconds();
  for (auto& e : tags) {
    if (e.sig != sig) continue;
    if (++e.restarts >= kTagRestartLimit) return;
    e.packets = 1;
    e.bytes = p.data.size();
    e.first_s = e.last_s = now;
    return;
  }
  if (tags.size() >= kMaxTagsPerOwner) return;
  tags.push_back({sig, spec.metric, spec.count, 1, p.data.size(), now, now, 0});
}

// What a threshold or rate_filter counts by.
uint64_t track_key(Threshold::Track track, const Packet& p) {
  switch (track) {
    case Threshold::Track::kBySrc:
      return ip_key(p.src_ip);
    case Threshold::Track::kByDst:
      return ip_key(p.dst_ip);
    case Threshold::Track::kByBoth:
      return ip_key(p.src_ip) * 7 + ip_key(p.dst_ip);
    case Threshold::Track::kByFlow:
      return p.flow ? p.flow->id : 0;
    case Threshold::Track::kByRule:
      break;
  }
  return 0;
}

}  // namespace

// Scan results of small app-layer buffers. Host, User-Agent, URI, method, status and the like
// repeat across transactions and flows, and a buffer's prefilter result depends only on its
// bytes and the database: the last results are kept in a direct-mapped table (bytes compared
// exactly on a hit). On the corpus about two thirds of the small-buffer scans are repeats.
class ScanMemo {
 public:
  static constexpr std::size_t kSlots = 512;     // a power of two
  static constexpr std::size_t kMaxBytes = 128;  // longer buffers are scanned every time
  static constexpr std::size_t kMaxIds = 12;     // a result with more ids is not kept

  void clear() { slots_.assign(kSlots, Slot{}); }

  /// Adds the ids `pf` finds in `data` through `add`, from the memo when it has them.
  template <class Add>
  void scan(const Prefilter& pf, std::string_view data, match::PatternSet::Scratch& scratch,
            Add&& add) {
    if (data.size() > kMaxBytes || slots_.empty()) {
      pf.scan(data, scratch, add);
      return;
    }
    uint64_t h = hash(data);
    Slot& slot = slots_[(h ^ (reinterpret_cast<uintptr_t>(&pf) >> 4)) & (kSlots - 1)];
    if (slot.db == &pf && slot.hash == h && slot.len == data.size() &&
        std::memcmp(slot.bytes.data(), data.data(), data.size()) == 0) {
      for (uint8_t i = 0; i < slot.count; ++i) add(slot.ids[i]);
      return;
    }
    uint8_t n = 0;
    bool keep = true;
    pf.scan(data, scratch, [&](uint32_t id) {
      add(id);
      if (n < kMaxIds) {
        slot.ids[n++] = id;
      } else {
        keep = false;
      }
    });
    slot.db = keep ? &pf : nullptr;
    slot.hash = h;
    slot.len = static_cast<uint16_t>(data.size());
    slot.count = n;
    std::memcpy(slot.bytes.data(), data.data(), data.size());
  }

 private:
  struct Slot {
    const Prefilter* db = nullptr;  // null: empty
    uint64_t hash = 0;
    uint16_t len = 0;
    uint8_t count = 0;
    std::array<uint32_t, kMaxIds> ids{};
    std::array<char, kMaxBytes> bytes{};
  };
  // Eight bytes at a time: the buffers are short and the hash only picks a slot.
  static uint64_t hash(std::string_view d) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ d.size();
    std::size_t i = 0;
    for (; i + 8 <= d.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, d.data() + i, 8);
      h = (h ^ w) * 0xff51afd7ed558ccdull;
      h ^= h >> 32;
    }
    uint64_t w = 0;
    std::memcpy(&w, d.data() + i, d.size() - i);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
  }
  std::vector<Slot> slots_;
};

}  // namespace mimamori::net::rules
