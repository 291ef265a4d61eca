#pragma once
// The per-packet alert queue (Suricata's PacketAlertAppend): what detectors ask to be written
// while they inspect a packet, a stream chunk or an app-layer progress point — alerts, tagged
// packets and other events — kept in the order they asked. The pipeline writes the queue once
// the detectors return, so a detector never calls back into the pipeline or a parser. Entries
// are reused from one packet to the next: steady state allocates nothing.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/core/event.h"
#include "mimamori/core/fields.h"

namespace mimamori::net {

class AlertQueue {
 public:
  enum class Kind : uint8_t {
    kAlert,         ///< an alert (with its verdict and top-level extras)
    kTaggedPacket,  ///< the current packet, tagged by a rule's `tag` option
    kEvent,         ///< any other event (behaviour detectors)
  };
  struct Entry {
    Kind kind = Kind::kAlert;
    core::Alert alert;
    std::string verdict;  ///< empty: none
    core::Fields extra;   ///< top-level members of the alert record
    bool has_extra = false;
    core::Event event;
  };

  /// Queues an alert; `extra` is copied.
  void push_alert(const core::Alert& alert, std::string_view verdict, const core::Fields* extra) {
    Entry& e = next(Kind::kAlert);
    e.alert = alert;
    e.verdict.assign(verdict);
    e.has_extra = extra != nullptr;
    e.extra.clear();
    if (extra) e.extra.append(*extra);
  }
  /// Queues a record of the current packet as a tagged one.
  void push_tagged_packet() { next(Kind::kTaggedPacket); }
  /// Queues a copy of `event`.
  void push_event(const core::Event& event) { next(Kind::kEvent).event = event; }

  bool empty() const { return size_ == 0; }
  const Entry* begin() const { return entries_.data(); }
  const Entry* end() const { return entries_.data() + size_; }
  Entry* begin() { return entries_.data(); }
  Entry* end() { return entries_.data() + size_; }
  /// Forgets the entries (their storage is kept for the next packet).
  void clear() { size_ = 0; }

 private:
  Entry& next(Kind kind) {
    if (size_ == entries_.size()) entries_.emplace_back();
    Entry& e = entries_[size_++];
    e.kind = kind;
    return e;
  }
  std::vector<Entry> entries_;
  std::size_t size_ = 0;
};

}  // namespace mimamori::net
