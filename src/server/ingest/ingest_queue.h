#pragma once
// The ingest queue and its writer threads: parsed batches wait here (bounded: past the limit a
// device is told 429) until a writer commits a group of them in one transaction (the events,
// then their triage) and answers each batch's completion callback after the commit. The
// callbacks live here, never in the store; stop() runs and releases every one of them, so the
// owner stops the queue while whatever a callback holds (an HTTP session) can still be freed.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "mimamori/server/ingest.h"
#include "mimamori/server/store.h"

namespace mimamori::server {

/// Counters of the ingest path, for /metrics.
struct IngestStats {
  std::atomic<int64_t> batches{0}, events_accepted{0}, events_duplicate{0}, events_rejected{0},
      throttled{0}, commits{0}, queue_events{0};
};

/// Called once per submitted batch: after its commit, or with an error (429 when the queue is
/// full, 503 when the database failed or the server is stopping).
using IngestDone = std::function<void(Result<IngestOutcome>)>;

/// The queue between the API and the database; see the file comment.
class IngestQueue {
 public:
  /// Starts the writers on `store`: one on SQLite, `ingest_writers` (1..16) on PostgreSQL.
  explicit IngestQueue(Store& store);
  /// Stops (see stop()).
  ~IngestQueue();
  IngestQueue(const IngestQueue&) = delete;
  IngestQueue& operator=(const IngestQueue&) = delete;

  /// Queues a parsed batch; `done` runs on a writer thread after commit, or at once with an
  /// error. Never blocks.
  void submit(IngestBatch batch, IngestDone done);
  /// Refuses new batches (503), commits what is queued, answers it and joins the writers:
  /// when it returns, every callback has run and been destroyed.
  void stop();
  /// Ingest counters.
  IngestStats& stats() { return stats_; }

 private:
  struct Pending {
    IngestBatch batch;
    IngestDone done;
  };
  void writer_loop();
  /// Inserts the events (and rejected lines) of a whole group in one call; `inserted` gets one
  /// flag per row, batch after batch, events before rejected lines. `contended`: a retry after
  /// a failed attempt (see SqlTx::insert_events).
  static Status insert_group(SqlTx& tx, const std::vector<const IngestBatch*>& group,
                             std::vector<bool>& inserted, int64_t now, bool contended);
  /// Counts of one batch of a group; `inserted` from `offset` holds the batch's flags.
  static void count_batch(const IngestBatch& b, const std::vector<bool>& inserted, size_t offset,
                          IngestOutcome& out);

  Store& store_;
  IngestStats stats_;
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;
  int64_t queued_events_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> writers_;
  /// Held by a writer from its triage until its commit: writers insert events in parallel but
  /// change the shared alert, incident and device rows one at a time, so that two writers of
  /// one instance never deadlock on them.
  std::mutex triage_mu_;
};

}  // namespace mimamori::server
