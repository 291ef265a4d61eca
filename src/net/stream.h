#pragma once
// TCP stream reassembly: each direction's segments put in order (first copy wins on overlap),
// out-of-order bytes held within a per-worker memcap, gaps declared when the peer already
// acknowledged what is missing or the memcap bites, delivery cut at the stream depth. What is
// in order goes to a StreamReceiver (the pipeline: detectors, then the app layer). Per-flow
// state lives in FlowInternals::side; one reassembler per pipeline, used by its thread only.

#include <cstdint>
#include <string_view>

#include "mimamori/net/detect.h"
#include "mimamori/net/flow.h"
#include "mimamori/net/packet.h"

namespace mimamori::net {

struct PipelineStats;

/// Where reassembled data goes.
class StreamReceiver {
 public:
  virtual ~StreamReceiver() = default;
  /// Newly in-order bytes of one direction (at most the stream depth in all).
  virtual void stream_data(Flow& flow, const StreamChunk& chunk) = 0;
  /// `lost` bytes of `dir` will never come; the stream continues after them.
  virtual void stream_gap(Flow& flow, Direction dir, uint32_t lost) = 0;
  /// A stream anomaly (e.g. "stream.reassembly_overlap") on the current packet.
  virtual void stream_anomaly(Flow& flow, std::string_view event) = 0;
};

/// Limits of reassembly.
struct StreamLimits {
  uint64_t depth = 1 << 20;       ///< bytes per direction delivered
  uint64_t memcap = 64ull << 20;  ///< bytes held out of order, per worker
};

class StreamReassembler {
 public:
  /// `stats` receives the tcp_* counters; both it and `receiver` must outlive this.
  StreamReassembler(const StreamLimits& limits, PipelineStats& stats, StreamReceiver& receiver)
      : limits_(limits), stats_(stats), receiver_(receiver) {}

  /// One TCP packet of `flow`. A midstream pick-up whose first data is a server's reply turns
  /// the flow around and sets `packet.direction` accordingly.
  void packet(Flow& flow, Packet& packet);
  /// At flow end: hands over what is still held out of order, after a gap.
  void flush(Flow& flow);
  /// Frees what the flow still holds out of order.
  void release(Flow& flow);

 private:
  void swap_sides(Flow& f, Packet& p);
  void skip_to(Flow& f, int d, uint32_t to);
  void gap(Flow& f, int d, uint32_t lost);
  void segment(Flow& f, int d, uint32_t seq, std::string_view data);
  void drain(Flow& f, int d);
  void deliver(Flow& f, int d, std::string_view data);

  StreamLimits limits_;
  PipelineStats& stats_;
  StreamReceiver& receiver_;
  uint64_t ooo_bytes_ = 0;
};

}  // namespace mimamori::net
