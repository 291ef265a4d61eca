#pragma once
// The Windows agent's sink: alerts into the durable spool (and printed as EVE lines with
// --once), with the event-log bookmarks committed only as far as the server has acknowledged
// the alerts of the records before them (host::EventLogDelivery, docs/windows.md).

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "mimamori/host/collector.h"
#include "mimamori/host/event_log.h"
#include "mimamori/host/event_log_delivery.h"

namespace mimamori::uplink {
class Spool;
class Uplink;
}  // namespace mimamori::uplink

namespace mimamori::agent {

class AgentSink : public host::EventSink {
 public:
  /// Takes the bookmarks from the spool's checkpoints and reads its unacknowledged records, so
  /// that alerts re-read from the event logs after a restart are not spooled twice.
  AgentSink(uplink::Spool& spool, bool print);

  /// The bookmarks to open the event logs with.
  host::EventLogBookmarks resume() const { return delivery_.resume(); }

  void emit(const core::Event& e) override;
  void checkpoint(std::string_view source, std::string_view pos) override {
    delivery_.checkpoint(source, pos);
  }
  std::string position(std::string_view source) override { return delivery_.position(source); }

  /// Commits the spool's pending alerts with the bookmarks as far as acknowledged, and wakes
  /// the uplink (may be null) when there is something new to send.
  void flush(uplink::Uplink* up);

  /// The uplink's before_ack: commits the bookmarks the acknowledgement releases (before the
  /// spool forgets the records: a crash in between resends, the server de-duplicates).
  void acked(uint64_t seq);

  /// Re-read alerts not spooled again.
  uint64_t skipped() const { return delivery_.skipped(); }

 private:
  uplink::Spool& spool_;
  host::EventLogDelivery delivery_;
  bool print_;
  std::string line_;
  std::mutex commit_mu_;  // one checkpoint commit at a time (main loop and uplink thread)
};

}  // namespace mimamori::agent
