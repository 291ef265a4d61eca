#pragma once
/// EventLogDelivery: the event-log collector's alerts on their way to the spool, with bookmarks
/// that advance only once the server has acknowledged every spool record made from the records
/// before them (docs/windows.md, "Bookmarks and acknowledgement").
///
/// - Each alert is appended to the spool's pending batch (`append` gives its sequence number)
///   and held under its record (source, record id) until acknowledged.
/// - checkpoints() gives, per source, the bookmark to resume from: just before the first record
///   with an alert not yet acknowledged, or the source's latest bookmark when none is held.
///   Records without alerts never hold a bookmark back. With it, `eventlog.held` names the
///   alerts (rule signature ids) of that first record the server already has.
/// - After a restart the source resumes from those bookmarks and re-reads records whose alerts
///   may already be in the spool: an alert is spooled again only if it is neither acknowledged
///   (`eventlog.held`) nor still in the spool (spooled(), called with the spool's
///   unacknowledged records before the first poll). What the spool dropped (full) is spooled
///   anew from the event log.
///
/// Thread-safe: the collector emits on one thread, acknowledgements come from the uplink's.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "mimamori/host/collector.h"
#include "mimamori/host/event_log.h"

namespace mimamori::host {

class EventLogDelivery : public EventSink {
 public:
  /// The checkpoint naming the acknowledged alerts of each source's first held record.
  static constexpr std::string_view kHeldCheckpoint = "eventlog.held";
  /// Puts one EVE line into the spool's pending batch; returns its sequence number.
  using Append = std::function<uint64_t(std::string_view line)>;

  /// `bookmarks` and `held`: the checkpoints committed last (EventLogAlerts::kCheckpoint and
  /// kHeldCheckpoint; empty on a first start).
  EventLogDelivery(Append append, std::string_view bookmarks, std::string_view held);

  /// One of the spool's unacknowledged records (before the first poll after a restart): an
  /// alert of the same source, record and rule is not spooled again, and holds its record's
  /// bookmark until `seq` is acknowledged. Other payloads are ignored.
  void spooled(uint64_t seq, std::string_view payload);

  /// The bookmarks to open the source with.
  EventLogBookmarks resume() const;

  /// Spools `event` (its EVE line is `line`) unless it is a re-read alert the server or the
  /// spool already has; true when spooled. Events without `winlog.source` are always spooled.
  bool deliver(const core::Event& event, std::string_view line);

  // EventSink: emit() is deliver() with the event's own EVE line; checkpoint(kCheckpoint, ...)
  // records the source's latest bookmarks (EventLogAlerts calls it after each poll).
  void emit(const core::Event& event) override;
  void checkpoint(std::string_view source, std::string_view position) override;
  std::string position(std::string_view source) override;

  /// The server acknowledged every record through `seq`.
  void acked(uint64_t seq);

  /// What to commit now: {EventLogAlerts::kCheckpoint: bookmarks safe to resume from,
  /// kHeldCheckpoint: the acknowledged alerts of the first held records}.
  std::map<std::string, std::string> checkpoints();

  /// Re-read alerts not spooled again (the server or the spool had them).
  uint64_t skipped() const;
  /// Records whose alerts are not all acknowledged.
  std::size_t held_records() const;

 private:
  struct Hold {
    uint64_t record_id = 0;
    std::vector<std::pair<uint64_t, uint64_t>> alerts;  // (signature id, spool seq)
  };
  struct Source {
    std::string resume;  // the bookmark committed last (or opened with)
    std::string latest;  // after the last record read
    std::deque<Hold> holds;
    // After a restart: the alerts (signature ids) of one record the server already has.
    uint64_t acked_record = 0;
    std::multiset<uint64_t> acked_sids;
  };
  using Key = std::tuple<std::string, uint64_t, uint64_t>;  // source, record id, signature id

  void release_locked();

  Append append_;
  mutable std::mutex mu_;
  std::map<std::string, Source, std::less<>> sources_;
  std::map<Key, std::vector<uint64_t>> in_spool_;  // unacknowledged alerts at start, their seqs
  uint64_t acked_ = 0;
  uint64_t skipped_ = 0;
  std::string line_;
};

}  // namespace mimamori::host
