#pragma once
// Pipeline-private per-flow state: TCP reassembly of both directions and the app-layer parser.
// Kept with the pooled flow and reset, not freed, when the flow is reused.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mimamori/net/flow.h"

namespace mimamori::net {

class AppParser;
struct FlowEntry;

/// One direction of a TCP stream.
struct StreamSide {
  bool init = false;  ///< next_seq is known
  bool fin = false;
  bool closed = false;       ///< depth reached or stream given up
  bool gap_pending = false;  ///< next delivered chunk follows lost bytes
  uint32_t next_seq = 0;     ///< next in-order sequence number to deliver
  uint32_t peer_acked = 0;   ///< highest ack the peer sent for this direction
  bool peer_ack_seen = false;
  uint64_t delivered = 0;  ///< bytes delivered so far
  uint64_t buffered = 0;   ///< bytes held out of order
  struct Segment {
    uint32_t seq;
    std::string data;
  };
  std::vector<Segment> ooo;  ///< out-of-order segments, unsorted
  void reset() {
    init = fin = closed = gap_pending = false;
    next_seq = peer_acked = 0;
    peer_ack_seen = false;
    delivered = buffered = 0;
    ooo.clear();
  }
};

struct FlowInternals {
  FlowEntry* entry = nullptr;
  StreamSide side[2];
  std::unique_ptr<AppParser> parser;
  uint32_t probe_bytes[2] = {0, 0};  ///< bytes seen by protocol detection per direction
  /// A start too short to tell (a method cut by segmentation), per direction; allocated only
  /// when needed, so the many flows that never need it stay small.
  std::unique_ptr<std::string[]> probe_buf;
  uint16_t udp_probes = 0;
  bool stream_tracked = false;  ///< reassembly runs (handshake seen, or midstream allowed)
  uint8_t alerted = 0;
  uint64_t tx_logged = 0;
  void reset();
};

}  // namespace mimamori::net
