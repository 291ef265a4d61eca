#pragma once
// FlowTable: bidirectional flows keyed by (addresses, ports, protocol, VLAN), from a bounded
// pool, with per-state timeouts kept in LRU lists (one per timeout class, so each list's oldest
// flow is the next to expire) and eviction when the pool is full.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "mimamori/net/flow.h"
#include "mimamori/net/packet.h"

namespace mimamori::net {

/// Why a flow ended, as EVE's `flow.reason` says it.
enum class FlowEndReason : uint8_t { kTimeout, kForced, kShutdown };
std::string_view flow_end_reason_name(FlowEndReason r);

/// Timeouts in seconds for one protocol class.
struct FlowTimeouts {
  int64_t new_s = 30, established_s = 300, closed_s = 0;
};

struct FlowTableOptions {
  uint64_t memcap = 128ull << 20;  ///< bytes for flows (with their reassembly/parser state)
  uint32_t hash_size = 65536;
  FlowTimeouts tcp{60, 600, 60}, udp{30, 300, 0}, icmp{30, 300, 0}, other{30, 300, 0};
  bool midstream = false;           ///< pick up TCP sessions without seeing the handshake
  bool tunnel_depth_in_key = true;  ///< packets at different tunnel depths are different flows
};

struct FlowTableStats {
  uint64_t created = 0, tcp = 0, udp = 0, icmp = 0, other = 0;
  uint64_t timeouts = 0, evicted = 0, memcap = 0, active = 0, max_active = 0, reused = 0;
};

struct FlowEntry;

class FlowTable {
 public:
  using EndFn = std::function<void(Flow&, FlowEndReason)>;

  FlowTable(FlowTableOptions options, EndFn on_end);
  ~FlowTable();

  /// Finds or creates the flow of `p` (an IP packet with a protocol), updates counters and TCP
  /// state, and sets p.flow and p.direction. Returns null when no flow could be had.
  Flow* update(Packet& p);

  /// Retires every flow whose timeout passed at `now`.
  void expire(core::Timestamp now);
  /// Retires every flow (end of input).
  void shutdown();

  const FlowTableStats& stats() const { return stats_; }
  uint64_t max_flows() const { return max_flows_; }

 private:
  FlowEntry* find(const Packet& p, uint64_t hash, bool& reversed);
  FlowEntry* allocate(core::Timestamp now);
  void retire(FlowEntry* e, FlowEndReason reason);
  void relist(FlowEntry* e);
  void unlink_lru(FlowEntry* e);
  int timeout_class(const Flow& f) const;
  int64_t timeout_us(int cls) const;

  FlowTableOptions options_;
  EndFn on_end_;
  FlowTableStats stats_;
  uint64_t max_flows_ = 0;
  std::vector<FlowEntry*> buckets_;
  std::vector<std::unique_ptr<FlowEntry>> pool_;
  FlowEntry* free_ = nullptr;
  static constexpr int kClasses = 12;
  FlowEntry* lru_head_[kClasses] = {};  // most recent
  FlowEntry* lru_tail_[kClasses] = {};  // oldest
  uint64_t id_seed_;
};

/// The symmetric hash of a packet's flow key (both directions give the same value).
uint64_t flow_hash(const Packet& p);

}  // namespace mimamori::net
