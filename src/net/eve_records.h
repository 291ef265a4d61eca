#pragma once
// EVE record building, the output stage of the pipeline: alert, flow, app-layer, anomaly and
// packet records in Suricata's shape (header fields, IPv6 written as eight full groups,
// Community ID, vlan, tunnel, payload), appended to one buffer that goes to the sink in
// batches. One per pipeline, used by its thread only; it never calls a detector.

#include <cstdint>
#include <string>
#include <string_view>

#include "flow_table.h"
#include "mimamori/core/event.h"
#include "mimamori/core/fields.h"
#include "mimamori/net/decode.h"
#include "mimamori/net/flow.h"
#include "mimamori/net/output.h"
#include "mimamori/net/packet.h"
#include "mimamori/net/pipeline.h"

namespace mimamori::net {

/// Where an alert was raised: the packet (or a flow's end pseudo packet) and what was being
/// inspected.
struct AlertSite {
  const Packet* packet = nullptr;
  int64_t tx_id = -1;     ///< the app-layer transaction inspected, or -1
  bool flow_end = false;  ///< raised while the flow is retired
  bool stream = false;    ///< raised on stream data or app-layer buffers
};

class EveRecords {
 public:
  /// `sink` may be null (records are counted and dropped); `stats` counts events and alerts.
  EveRecords(const PipelineOptions& options, EveSink* sink, PipelineStats& stats);

  /// A decoder anomaly of packet `p`.
  void decode_anomaly(const Packet& p, Anomaly a);
  /// A stream anomaly of flow `f` on packet `p`.
  void stream_anomaly(const Packet& p, const Flow& f, std::string_view event);
  /// An app-layer record (`fields` holds e.g. `"dns": {...}`); at flow end (`flow_end`) it
  /// is stamped with the flow's last time and no pcap_cnt.
  void app_record(const Packet& p, const Flow& f, std::string_view type, const core::Fields& fields,
                  Direction dir, bool flow_end);
  /// An app-layer parser's anomaly.
  void app_anomaly(const Packet& p, const Flow& f, std::string_view event, bool flow_end);
  /// The flow record of a retired flow.
  void flow(const Flow& f, FlowEndReason reason);
  /// An alert: the packet's header, the flow's app-layer record and counters, options'
  /// extras. Marks the flow as alerted.
  void alert(const AlertSite& site, const core::Alert& alert, std::string_view verdict,
             const core::Fields* extra);
  /// A packet tagged by a rule (when tagged packets are logged).
  void tagged_packet(const Packet& p, bool flow_end);
  /// Any other event, as given.
  void event(const core::Event& event);

  /// Bytes buffered and not yet sent.
  std::size_t buffered() const { return out_.size(); }
  /// Sends buffered lines to the sink.
  void flush();
  /// Sends buffered lines and flushes the sink.
  void finish();

 private:
  void write_event();
  void patch_ip(std::size_t start, std::string_view key, const core::IpAddress& a);
  void add_vlan(const uint16_t* vlan, uint8_t n);
  void set_endpoints(const Flow& f, bool reverse);
  void set_packet_endpoints(const Packet& p);
  void add_community_id(const Flow& f);
  void add_tunnel(const Packet& p, const Packet& root);
  void add_ether(const Packet& p);
  void add_payload(const Packet& p, bool stream);
  void add_packet(const Packet& p);
  void add_base64(std::string_view key, std::string_view data);

  const PipelineOptions& opt_;
  EveSink* sink_;
  PipelineStats& stats_;
  core::Event ev_;
  std::string out_, tmp_, scratch_;
};

}  // namespace mimamori::net
