#pragma once
/// Workers: N pipelines on N threads. The reader hands each packet to the worker chosen by a
/// symmetric hash of its endpoints, so both directions of a flow (and all fragments of a
/// datagram) meet on one worker. Packets travel in batches; the only locks are per batch.
/// A pool of one runs its pipeline on the reader's thread (no copy, no hand-off).
/// run_capture() is the one capture loop: source -> pool, paced, with periodic stats.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "mimamori/core/eve.h"
#include "mimamori/net/capture.h"
#include "mimamori/net/output.h"
#include "mimamori/net/pipeline.h"

namespace mimamori::net {

class WorkerPoolImpl;

class WorkerPool {
 public:
  /// Makes `n` workers; `make(i)` builds worker i's pipeline (called on the caller's thread).
  /// With `n` == 1 the pipeline runs on the caller's thread, inside dispatch().
  WorkerPool(int n, const std::function<std::unique_ptr<Pipeline>(int)>& make);
  ~WorkerPool();

  /// Copies the packet into the batch of its worker (sends the batch when full).
  void dispatch(const RawPacket& raw, uint64_t number);
  /// Sends partial batches, ends every worker (their flows retire), joins the threads.
  void finish();
  /// The counters of all workers summed (a snapshot, refreshed by the workers now and then;
  /// a pool of one flushes its pipeline and gives the counters as they are).
  PipelineStats stats();

 private:
  std::unique_ptr<WorkerPoolImpl> impl_;
};

/// How the capture loop runs.
struct CaptureLoopOptions {
  double pps = 0;                 ///< replay at this many packets per second (0: no pacing)
  int64_t stats_interval_us = 0;  ///< call on_stats this often (0: never during the run)
};

/// What a capture loop did.
struct CaptureResult {
  PipelineStats total;               ///< the counters of every worker, after finish()
  std::optional<core::Error> error;  ///< a failing live capture (the loop stopped there)
};

/// The one capture loop: reads `source` until its end (or `stop`), numbers the packets from 1,
/// hands each to `pool`, calls `on_stats` with the pool's counters every stats interval
/// (checked every 1024 packets), then finishes the pool.
CaptureResult run_capture(PacketSource& source, WorkerPool& pool, const std::atomic<bool>& stop,
                          const CaptureLoopOptions& options,
                          const std::function<void(const PipelineStats&)>& on_stats);

/// Writes a `stats` record: the pipeline counters in Suricata's shape, `uptime` counted from
/// `started`, and the capture counters as `stats.capture`; `more` (e.g. the inline counters,
/// `stats.ips`) joins the `stats` object after them.
void write_stats_record(EveSink& sink, const PipelineStats& stats, const CaptureStats& capture,
                        core::Timestamp started, const core::EveFormat& format,
                        const core::Fields* more = nullptr);

}  // namespace mimamori::net
