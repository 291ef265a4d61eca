#pragma once
/// Flow: the bidirectional conversation a packet belongs to, as the detectors see it. The flow
/// table owns flows; a flow lives on one worker thread only, so nothing here is locked.

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "mimamori/core/clock.h"
#include "mimamori/core/ip_address.h"
#include "mimamori/net/packet.h"

namespace mimamori::net {

/// The application protocol detected on a flow (by content, never by port alone).
enum class AppProto : uint8_t { kUnknown = 0, kHttp, kDns, kTls, kSsh, kFailed };

/// EVE's name of an application protocol ("http", "dns", "tls", "ssh", "failed", "").
std::string_view app_proto_name(AppProto p);

/// TCP connection state, as EVE's `tcp.state` names it.
enum class TcpState : uint8_t {
  kNone = 0,
  kSynSent,
  kSynRecv,
  kEstablished,
  kFinWait1,
  kFinWait2,
  kTimeWait,
  kCloseWait,
  kLastAck,
  kClosing,
  kClosed,
};

/// EVE's name of a TCP state ("syn_sent", "established", "closed", ...).
std::string_view tcp_state_name(TcpState s);

/// Per-flow state a detector keeps (flowbits, flowints, counters). Destroyed with the flow.
class FlowState {
 public:
  virtual ~FlowState() = default;
};

/// How many detectors can keep state on one flow.
inline constexpr unsigned kMaxDetectorSlots = 4;

struct FlowInternals;  // reassembly and app-layer state, private to the pipeline

/// One flow. `client` is the side that opened it (sent the SYN, or the first packet).
struct Flow {
  Flow();
  ~Flow();
  Flow(const Flow&) = delete;
  Flow& operator=(const Flow&) = delete;

  uint64_t id = 0;  ///< Suricata-style flow_id (non-zero, 51 bits)
  core::IpAddress client_ip;
  core::IpAddress server_ip;
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  uint8_t proto = 0;  ///< IP protocol
  uint16_t vlan[3] = {0, 0, 0};
  uint8_t vlan_count = 0;
  uint8_t tunnel_depth = 0;       ///< tunnels around the packets (part of the flow's key)
  uint8_t icmp_type[2] = {0, 0};  ///< ICMP type/code of the first packet each way
  uint8_t icmp_code[2] = {0, 0};

  core::Timestamp start;
  core::Timestamp last;
  uint64_t pkts[2] = {0, 0};   ///< indexed by Direction
  uint64_t bytes[2] = {0, 0};  ///< wire bytes, indexed by Direction

  TcpState tcp_state = TcpState::kNone;
  uint8_t tcp_flags[2] = {0, 0};  ///< union of flags seen, indexed by Direction
  bool midstream = false;         ///< picked up without seeing the handshake
  AppProto app_proto = AppProto::kUnknown;
  AppProto app_proto_ts = AppProto::kUnknown;  ///< detected on the to-server side
  AppProto app_proto_tc = AppProto::kUnknown;  ///< detected on the to-client side
  bool drop = false;  ///< an IPS verdict dropped the flow: later packets are dropped too

  /// True once the handshake completed (TCP) or both sides have sent (other protocols), as the
  /// rule keyword `flow:established` means it.
  bool established() const { return established_; }
  void set_established() {
    established_ = true;
    established_at = pkts[0] + pkts[1];
  }
  /// Packets of the flow (both ways) when it became established: a TCP packet is inspected
  /// as established only after the one completing the handshake, as Suricata does.
  uint64_t established_at = 0;

  /// The state detector `slot` keeps on this flow, or null.
  FlowState* state(unsigned slot) const {
    return slot < kMaxDetectorSlots ? states_[slot].get() : nullptr;
  }
  /// Gives detector `slot` its state on this flow (replacing any previous one).
  void set_state(unsigned slot, std::unique_ptr<FlowState> s) {
    if (slot < kMaxDetectorSlots) states_[slot] = std::move(s);
  }

  /// Pipeline-private state (reassembly, app-layer parser); opaque to detectors.
  std::unique_ptr<FlowInternals> internals;

 private:
  bool established_ = false;
  std::array<std::unique_ptr<FlowState>, kMaxDetectorSlots> states_;
};

}  // namespace mimamori::net
