// The ingest writers: group commit of queued batches (events, then triage, in one
// transaction), retried when another writer or instance made it fail, answered after commit.

#include "ingest/ingest_queue.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "mimamori/core/clock.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/log.h"
#include "retention/retention.h"
#include "store/sql.h"
#include "triage/triage.h"

namespace mimamori::server {

IngestQueue::IngestQueue(Store& store) : store_(store) {
  // SQLite has one writer at a time anyway; on PostgreSQL several overlap their round trips.
  const int count =
      store.dialect() == Dialect::kSqlite ? 1 : std::clamp(store.options().ingest_writers, 1, 16);
  for (int i = 0; i < count; ++i) writers_.emplace_back([this] { writer_loop(); });
}

IngestQueue::~IngestQueue() { stop(); }

void IngestQueue::stop() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  for (auto& t : writers_) t.join();
  writers_.clear();
}

void IngestQueue::submit(IngestBatch batch, IngestDone done) {
  auto n = static_cast<int64_t>(batch.events.size() + batch.rejected.size());
  std::unique_lock lock(queue_mu_);
  if (stopping_) {
    lock.unlock();
    done(core::make_error_code(503, "the server is shutting down"));
    return;
  }
  // Bounded: past the limit the device is told to come back (429) instead of growing memory.
  // A batch larger than the whole queue is still admitted when the queue is empty.
  if (queued_events_ > 0 && queued_events_ + n > store_.options().ingest_queue_events) {
    lock.unlock();
    stats_.throttled.fetch_add(1, std::memory_order_relaxed);
    done(core::make_error_code(429, "ingest queue is full ({} events waiting)", queued_events_));
    return;
  }
  queued_events_ += n;
  stats_.queue_events.store(queued_events_, std::memory_order_relaxed);
  queue_.push_back(Pending{std::move(batch), std::move(done)});
  lock.unlock();
  queue_cv_.notify_one();
}

void IngestQueue::writer_loop() {
  std::vector<Pending> group;
  std::vector<const IngestBatch*> batches;
  std::vector<IngestOutcome> outcomes;
  std::vector<bool> inserted;
  while (true) {
    group.clear();
    int64_t events = 0;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && (group.empty() || events < store_.options().ingest_group_events)) {
        events += static_cast<int64_t>(queue_.front().batch.events.size() +
                                       queue_.front().batch.rejected.size());
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    batches.clear();
    for (const auto& p : group) batches.push_back(&p.batch);
    outcomes.assign(group.size(), IngestOutcome{});
    const int64_t now = core::now().micros;
    // A deadlock or serialization failure with another writer (or another instance) rolls
    // the whole group back; applying it again is idempotent, so try a few times.
    Status st;
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::unique_lock triage_lock(triage_mu_, std::defer_lock);
      st = store_.transact(true, [&](SqlTx& tx) -> Status {
        if (auto s = insert_group(tx, batches, inserted, now, attempt > 0); !s.ok()) return s;
        triage_lock.lock();  // released after the commit, below
        size_t offset = 0;
        for (size_t i = 0; i < group.size(); ++i) {
          outcomes[i] = IngestOutcome{};
          const auto& b = group[i].batch;
          count_batch(b, inserted, offset, outcomes[i]);
          offset += b.events.size() + b.rejected.size();
        }
        if (auto s = triage_group(tx, batches, inserted, now, store_.options()); !s.ok()) {
          return s;
        }
        return add_hourly_aggregates(tx, batches, inserted);
      });
      if (triage_lock.owns_lock()) triage_lock.unlock();
      if (st.ok()) break;
      spdlog::warn("ingest commit attempt {} failed: {}", attempt + 1, st.error().message);
      // The database went away (a restart, a fail-over): give it a moment before the next
      // attempt; the group is idempotent on (device, seq), so a commit whose answer was lost
      // finds its events stored and counts them as duplicates.
      if (st.error().code == 503 && attempt < 2) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250 * (attempt + 1)));
      }
    }
    {
      std::lock_guard lock(queue_mu_);
      queued_events_ -= events;
      stats_.queue_events.store(queued_events_, std::memory_order_relaxed);
    }
    if (st.ok()) stats_.commits.fetch_add(1, std::memory_order_relaxed);
    for (size_t i = 0; i < group.size(); ++i) {
      if (st.ok()) {
        stats_.batches.fetch_add(1, std::memory_order_relaxed);
        stats_.events_accepted.fetch_add(outcomes[i].accepted, std::memory_order_relaxed);
        stats_.events_duplicate.fetch_add(outcomes[i].duplicates, std::memory_order_relaxed);
        stats_.events_rejected.fetch_add(static_cast<int64_t>(outcomes[i].rejected.size()),
                                         std::memory_order_relaxed);
        group[i].done(std::move(outcomes[i]));
      } else {
        spdlog::error("ingest commit failed: {}", st.error().message);
        group[i].done(
            core::make_error_code(503, "storing the batch failed: {}", st.error().message));
      }
    }
    // The callbacks hold the HTTP sessions: let go of them now, not when the next group comes.
    // A session kept here would outlive a stopping HTTP server and be destroyed after it.
    batches.clear();
    group.clear();
  }
}

Status IngestQueue::insert_group(SqlTx& tx, const std::vector<const IngestBatch*>& group,
                                 std::vector<bool>& inserted, int64_t now, bool contended) {
  // Rejected lines are kept too (as event_type "rejected" with the reason), so that a replayed
  // batch is recognised as a whole and the evidence of what a device sent is never lost.
  std::vector<EventRow> rows;
  std::vector<std::string> rejected_raw;
  size_t n = 0, n_rejected = 0;
  for (const IngestBatch* b : group) {
    n += b->events.size() + b->rejected.size();
    n_rejected += b->rejected.size();
  }
  rows.reserve(n);
  rejected_raw.reserve(n_rejected);  // no reallocation: rows keep views into these strings
  for (const IngestBatch* batch : group) {
    const IngestBatch& b = *batch;
    for (const auto& e : b.events) {
      rows.push_back(EventRow{b.device_id, e.seq, b.customer_id, e.ts, e.event_type, e.raw, now});
    }
    for (const auto& r : b.rejected) {
      std::string& j = rejected_raw.emplace_back("{\"reason\":");
      core::append_json_string(j, r.reason);
      j += ",\"line\":";
      core::append_json_string(j, r.raw);
      j += '}';
      rows.push_back(EventRow{b.device_id, r.seq, b.customer_id, now, "rejected", j, now});
    }
  }
  return tx.insert_events(rows, inserted, contended);
}

void IngestQueue::count_batch(const IngestBatch& b, const std::vector<bool>& inserted,
                              size_t offset, IngestOutcome& out) {
  for (size_t i = 0; i < b.events.size(); ++i) {
    if (inserted[offset + i]) {
      ++out.accepted;
    } else {
      ++out.duplicates;
    }
  }
  offset += b.events.size();
  for (size_t i = 0; i < b.rejected.size(); ++i) {
    if (inserted[offset + i]) {
      out.rejected.push_back(RejectedEvent{b.rejected[i].seq, b.rejected[i].reason, {}});
    } else {
      ++out.duplicates;
    }
  }
  out.acked_through = b.last;
}

}  // namespace mimamori::server
