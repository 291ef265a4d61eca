#pragma once
/// Packet: one decoded packet as the pipeline and the detectors see it. Views point into the
/// capture buffer (or a reassembled fragment buffer) and are valid only during the callback.

#include <cstdint>
#include <string_view>

#include "mimamori/core/clock.h"
#include "mimamori/core/ip_address.h"

namespace mimamori::net {

struct Flow;

/// Direction of a packet or stream chunk relative to the flow's client (who sent first / SYN).
enum class Direction : uint8_t { kToServer = 0, kToClient = 1 };

/// IP protocol numbers the decoder knows by name.
namespace ip_proto {
inline constexpr uint8_t kIcmp = 1;
inline constexpr uint8_t kTcp = 6;
inline constexpr uint8_t kUdp = 17;
inline constexpr uint8_t kIpip = 4;
inline constexpr uint8_t kIpv6InIp = 41;
inline constexpr uint8_t kGre = 47;
inline constexpr uint8_t kIcmpv6 = 58;
inline constexpr uint8_t kSctp = 132;
}  // namespace ip_proto

/// TCP flag bits as they appear in the header's flags byte.
namespace tcp_flag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
inline constexpr uint8_t kEce = 0x40;
inline constexpr uint8_t kCwr = 0x80;
}  // namespace tcp_flag

/// Where a packet came from, as Suricata's `pkt_src` names it: the capture, fragment
/// reassembly, a tunnel's decoder, or the end of a flow (a pseudo packet).
enum class PacketOrigin : uint8_t {
  kWire = 0,
  kDefrag,
  kGre,
  kIpv4Tunnel,  ///< an IP packet inside IPv4 (IP-in-IP, IPv6-in-IPv4)
  kIpv6Tunnel,  ///< an IP packet inside IPv6
  kTeredo,
  kVxlan,
  kGeneve,
  kFlowEnd,
};

/// Suricata's `pkt_src` text for a packet source ("wire/pcap", "ipv4 tunnel", ...).
std::string_view packet_origin_name(PacketOrigin s);

/// The name of a DLT_* link type as the `packet_info.linktype_name` field gives it.
std::string_view link_type_name(int link_type);

/// DLT_RAW: the link type of a packet decoded from inside a tunnel (its data starts there).
inline constexpr int kLinkTypeRaw = 12;

/// A decoded packet. Layers that are absent leave their fields zero/empty.
struct Packet {
  core::Timestamp timestamp;
  uint64_t number = 0;       ///< 1-based position in the capture (across files of a directory)
  std::string_view data;     ///< the whole captured frame (a tunnel packet: from its inner start)
  uint32_t wire_length = 0;  ///< length on the wire
  int link_type = 0;         ///< DLT_* of the capture

  uint16_t vlan[3] = {0, 0, 0};  ///< VLAN ids, outermost first (QinQ, and tags inside tunnels)
  uint8_t vlan_count = 0;
  uint8_t tunnel_depth = 0;  ///< 0, or how many tunnels (GRE, VXLAN, ...) the packet was inside
  PacketOrigin origin = PacketOrigin::kWire;
  /// A packet from inside a tunnel: the outermost packet that carried it (valid as long as
  /// this packet is); null otherwise.
  const Packet* root = nullptr;

  uint8_t ip_version = 0;  ///< 0 (no IP), 4 or 6
  core::IpAddress src_ip;
  core::IpAddress dst_ip;
  uint8_t proto = 0;  ///< IP protocol of the transport layer (after IPv6 extension headers)
  uint8_t ttl = 0;    ///< IPv4 TTL or IPv6 hop limit
  uint8_t tos = 0;    ///< IPv4 TOS or IPv6 traffic class
  uint16_t ip_id = 0;
  bool ip_df = false;          ///< IPv4 don't-fragment bit
  bool reassembled = false;    ///< built from IP fragments
  bool ip_options = false;     ///< IPv4 options or IPv6 extension headers present
  std::string_view ip_header;  ///< the IP header (with options / extension headers)
  std::string_view l4_header;  ///< TCP/UDP/ICMP header

  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t tcp_flags = 0;  ///< see tcp_flag
  uint32_t tcp_seq = 0;
  uint32_t tcp_ack = 0;
  uint16_t tcp_window = 0;
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  uint16_t icmp_id = 0;
  uint16_t icmp_seq = 0;

  std::string_view payload;   ///< transport payload (TCP/UDP data, ICMP data after the header)
  bool checksum_bad = false;  ///< IP or transport checksum wrong (only checked when enabled)

  // Set by the flow table.
  Flow* flow = nullptr;                        ///< null for packets without a flow (non-IP)
  Direction direction = Direction::kToServer;  ///< relative to the flow's client

  /// Payload size, the `dsize` of a rule.
  uint32_t dsize() const { return static_cast<uint32_t>(payload.size()); }
  bool is_tcp() const { return proto == ip_proto::kTcp && !l4_header.empty(); }
  bool is_udp() const { return proto == ip_proto::kUdp && !l4_header.empty(); }
  bool is_sctp() const { return proto == ip_proto::kSctp && !l4_header.empty(); }
  bool is_icmp() const {
    return (proto == ip_proto::kIcmp || proto == ip_proto::kIcmpv6) && !l4_header.empty();
  }
};

}  // namespace mimamori::net
