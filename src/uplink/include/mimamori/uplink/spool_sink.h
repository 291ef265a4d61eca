#pragma once
/// SpoolSink: events on their way to the server. Producers (packet workers, collectors) only
/// append EVE lines to a memory buffer under a lock; commit() moves the buffer into the durable
/// spool together with the producers' checkpoints (one batch: an event and the position after
/// it become durable together) and wakes the uplink's sender. Neither disk syncs nor the
/// network stall a producer; a bounded buffer drops (and counts) what the disk cannot take.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "mimamori/core/event.h"
#include "mimamori/uplink/spool.h"
#include "mimamori/uplink/uplink.h"

namespace mimamori::uplink {

/// Events into the spool; checkpoints committed with them.
class SpoolSink {
 public:
  struct Options {
    /// EVE event types to keep (an empty set keeps none); nullopt: every type.
    std::optional<std::set<std::string, std::less<>>> types;
    /// Bytes waiting for commit(); beyond, lines are dropped and counted in the spool's loss
    /// counter (0: no bound).
    uint64_t buffer_max_bytes = 0;
    /// commit() goes to the spool even with nothing new, so that a batch whose commit failed
    /// is retried at once (false: only with the next new lines).
    bool commit_when_idle = false;
  };

  /// `spool` (and `uplink`, which may be null) must outlive the sink.
  SpoolSink(Spool& spool, Uplink* uplink, Options options);
  /// Stops the committer thread, if any (without a last commit: call commit() first).
  ~SpoolSink();
  SpoolSink(const SpoolSink&) = delete;
  SpoolSink& operator=(const SpoolSink&) = delete;

  /// Appends one or more EVE lines (each ending in '\n'); lines of other types are skipped.
  void write(std::string_view lines);
  /// Appends `event` as one EVE line.
  void emit(const core::Event& event);
  /// Records how far `source` has been read; committed with the events appended before.
  void checkpoint(std::string_view source, std::string_view position);
  /// The last committed checkpoint of `source`, or empty.
  std::string position(std::string_view source) const;

  /// Moves what was appended into the spool, commits it with the checkpoints, and wakes the
  /// uplink. On a failed commit the batch stays pending in the spool and is retried next time.
  void commit();
  /// Commits every `interval` on a thread of its own until stop_committer() (or destruction).
  void start_committer(std::chrono::milliseconds interval);
  /// Stops the committer thread (a commit in progress finishes).
  void stop_committer();

  /// Lines appended so far.
  uint64_t emitted() const;
  /// "alert 3, dns 5": lines appended per event type, in name order (empty when none).
  std::string spooled_by_type() const;
  /// Lines dropped by the buffer bound and not yet counted in the spool.
  uint64_t dropped_pending() const;

 private:
  void append_line(std::string_view type, std::string_view line);

  Spool& spool_;
  Uplink* uplink_;
  Options options_;

  mutable std::mutex mu_;  // guards buffer_, checkpoints_ and the counters
  std::string buffer_;     // selected lines, each ending in '\n', not yet in the spool
  std::string moving_;     // commit()'s side of buffer_ (swapped: no allocation per batch)
  std::string line_;       // emit()'s scratch
  std::map<std::string, std::string> checkpoints_;
  std::map<std::string, uint64_t, std::less<>> spooled_;
  uint64_t emitted_ = 0;
  uint64_t overflow_dropped_ = 0;
  uint64_t overflow_reported_ = 0;  // of overflow_dropped_, already counted in the spool

  std::mutex commit_mu_;  // one commit at a time (committer thread and callers)
  std::mutex wake_mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by wake_mu_
  std::thread committer_;
};

}  // namespace mimamori::uplink
