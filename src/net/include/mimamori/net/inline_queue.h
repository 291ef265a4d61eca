#pragma once
/// Inline mode (`mimamori-sensor -q 0[:3]`): packets from Linux NFQUEUE queues, one worker
/// each, each packet given a verdict — accept, drop, or reject (a TCP reset both ways, an ICMP
/// unreachable) — and a dropped flow marked so that the firewall drops the rest of it in the
/// kernel (NF_REPEAT with the drop mark; the documented rules save it to the connection's
/// mark). Failing open throughout: the kernel accepts when the queue is full
/// (NFQA_CFG_F_FAIL_OPEN) or nobody listens (`--queue-bypass`), and a watchdog accepts
/// everything while a worker's detection stalls longer than `nfq.watchdog`.
///
/// Per queue, a receiver thread reads the netlink socket and hands packets to the queue's
/// detection thread (its own Pipeline); the receiver is never blocked by detection, so it can
/// see a stall and answer for the packets itself.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/fields.h"
#include "mimamori/core/result.h"
#include "mimamori/net/pipeline.h"

namespace mimamori::core {
class Config;
}

namespace mimamori::net {

/// Queue numbers from `-q`: "0", "0:3" (0 to 3) or "0,2".
core::Result<std::vector<uint16_t>> parse_queue_spec(std::string_view spec);

/// `nfq.*` keys.
struct InlineOptions {
  std::vector<uint16_t> queues;
  uint32_t queue_maxlen = 4096;   ///< nfq.queue-maxlen: packets the kernel holds per queue
  bool fail_open = true;          ///< nfq.fail-open: the kernel accepts when the queue is full
  int64_t watchdog_ms = 1000;     ///< nfq.watchdog: a stall this long puts the queue in bypass
  bool flow_drop_mark = true;     ///< nfq.flow-drop: mark dropped flows for the kernel path
  uint32_t drop_mark = 0x1;       ///< nfq.drop-mark: the mark of a dropped flow's packet
  uint32_t drop_mask = 0x1;       ///< nfq.drop-mask: the bits drop-mark owns
  uint32_t handoff = 2048;        ///< nfq.handoff: packets waiting for detection, per queue
  uint32_t socket_buffer_mb = 8;  ///< nfq.socket-buffer: the netlink receive buffer
  /// nfq.test.stall-content / nfq.test.stall-ms: a worker sleeps this long on a packet that
  /// contains this text. For testing the watchdog only; off unless both are set.
  std::string test_stall_content;
  int64_t test_stall_ms = 0;

  /// Reads `nfq.*`; throws core::ConfigError on a bad value.
  static InlineOptions from_config(const core::Config& config, std::vector<uint16_t> queues);
};

/// Verdict latency in nanoseconds (receipt to verdict), log-linear buckets (8 per octave:
/// about 9% resolution).
struct LatencyHistogram {
  static constexpr int kBuckets = 8 * 42;
  uint64_t counts[kBuckets] = {};
  uint64_t total = 0;
  uint64_t max_ns = 0;

  static int bucket(uint64_t ns);
  /// The upper bound of bucket `b`, in nanoseconds.
  static uint64_t upper(int b);
  void add(uint64_t ns);
  void add(const LatencyHistogram& o);
  /// The smallest bucket bound at or under which `q` (0..1) of the values lie; 0 when empty.
  uint64_t quantile(double q) const;
};

/// Counters of the inline path, summed over queues (`stats.ips` in the stats record, `ips` in
/// heartbeats).
struct InlineStats {
  uint64_t accepted = 0;              ///< verdicts: accept
  uint64_t dropped = 0;               ///< verdicts: drop (rejects included)
  uint64_t rejected = 0;              ///< of the drops, answered with a reset / unreachable
  uint64_t flow_marked = 0;           ///< drops that marked their flow for the kernel path
  uint64_t fail_open_events = 0;      ///< times the watchdog put a queue in bypass
  uint64_t fail_open_accepted = 0;    ///< packets accepted unseen while in bypass
  uint64_t handoff_full = 0;          ///< packets accepted unseen because detection lagged
  uint64_t verdict_errors = 0;        ///< verdicts the kernel did not take
  uint64_t reject_errors = 0;         ///< resets / unreachables that could not be sent
  uint64_t socket_overruns = 0;       ///< netlink socket overflows (ENOBUFS)
  uint64_t kernel_queue_dropped = 0;  ///< dropped by the kernel: queue full (fail-open off)
  uint64_t kernel_user_dropped = 0;   ///< dropped by the kernel: socket buffer full
  LatencyHistogram latency;

  void add(const InlineStats& o);
  /// Appends `"ips": {...}` (verdicts, fail_open, kernel, latency_us p50/p99/max).
  void append_to(core::Fields& f) const;
  /// The same as one JSON member, `"ips":{...}` without a leading comma (for heartbeats).
  std::string json_member() const;
};

/// The packets a reject sends for the IP packet `ip` (IPv4 or IPv6, from its IP header): for
/// TCP a reset to each side (the one to the sender acknowledging its data), otherwise an ICMP
/// port unreachable to the sender quoting the packet. Empty when it cannot be answered (a
/// reset, an ICMP error, a fragment, unknown headers).
std::vector<std::string> build_reject(std::string_view ip);

class InlineSensorImpl;

class InlineSensor {
 public:
  /// Binds every queue (an error names the queue and why: in use, no permission, ...) and
  /// makes one pipeline per queue with `make(i)`.
  static core::Result<std::unique_ptr<InlineSensor>> open(
      const InlineOptions& options, const std::function<std::unique_ptr<Pipeline>(int)>& make);
  ~InlineSensor();

  /// Runs until `stop`; calls `on_stats` every `stats_interval_us` (0: never). On stop every
  /// waiting packet is accepted before the queues are unbound, so a restart drops nothing.
  void run(const std::atomic<bool>& stop, int64_t stats_interval_us,
           const std::function<void(const PipelineStats&, const InlineStats&)>& on_stats);

  /// Counters so far (the pipelines' as of their last snapshot).
  PipelineStats pipeline_stats() const;
  InlineStats stats() const;

 private:
  explicit InlineSensor(std::unique_ptr<InlineSensorImpl> impl);
  std::unique_ptr<InlineSensorImpl> impl_;
};

}  // namespace mimamori::net
