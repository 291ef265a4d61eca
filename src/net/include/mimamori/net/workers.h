#pragma once
/// Workers: N pipelines on N threads. The reader hands each packet to the worker chosen by a
/// symmetric hash of its endpoints, so both directions of a flow (and all fragments of a
/// datagram) meet on one worker. Packets travel in batches; the only locks are per batch.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "mimamori/net/capture.h"
#include "mimamori/net/pipeline.h"

namespace mimamori::net {

class WorkerPoolImpl;

class WorkerPool {
 public:
  /// Makes `n` workers; `make(i)` builds worker i's pipeline (called on the caller's thread).
  WorkerPool(int n, const std::function<std::unique_ptr<Pipeline>(int)>& make);
  ~WorkerPool();

  /// Copies the packet into the batch of its worker (sends the batch when full).
  void dispatch(const RawPacket& raw, uint64_t number);
  /// Sends partial batches, ends every worker (their flows retire), joins the threads.
  void finish();
  /// The counters of all workers summed (a snapshot, refreshed by the workers now and then).
  PipelineStats stats();

 private:
  std::unique_ptr<WorkerPoolImpl> impl_;
};

}  // namespace mimamori::net
