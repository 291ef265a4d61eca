#pragma once
/// Decode: link layer to transport layer, with IPv4/IPv6 fragment reassembly. Malformed input
/// yields an anomaly (a Suricata-style event name), never a crash; nothing allocates per packet
/// once the fragment pool has grown.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mimamori/net/capture.h"
#include "mimamori/net/packet.h"

namespace mimamori::net {

/// Why a packet could not be decoded completely. kNone: decoded.
enum class Anomaly : uint8_t {
  kNone = 0,
  kEthTooSmall,
  kEthUnknownType,
  kVlanTooSmall,
  kVlanTooMany,
  kPppoeTooSmall,
  kPppoeWrongCode,
  kPppoeUnknownProto,
  kSllTooSmall,
  kUnknownLinkType,
  kIpv4TooSmall,
  kIpv4WrongVersion,
  kIpv4HlenTooSmall,
  kIpv4IplenSmallerThanHlen,
  kIpv4Trunc,
  kIpv4OptInvalidLen,
  kIpv6TooSmall,
  kIpv6WrongVersion,
  kIpv6Trunc,
  kIpv6TruncExthdr,
  kIpv6ExthdrUselessFh,
  kTcpTooSmall,
  kTcpHlenTooSmall,
  kTcpInvalidOptlen,
  kUdpTooSmall,
  kUdpHlenInvalid,
  kIcmpv4TooSmall,
  kIcmpv6TooSmall,
  kFragOverlap,
  kFragTooLarge,
  kFragIgnored,  ///< tracker table full or fragment limits reached
  kCount
};

/// Suricata's event name for an anomaly ("decoder.ipv4.trunc_pkt"); empty for kNone.
std::string_view anomaly_name(Anomaly a);

/// Decoder limits and switches.
struct DecodeOptions {
  bool check_checksums = true;
  uint32_t frag_trackers = 4096;      ///< datagrams being reassembled at once
  uint32_t frag_max_fragments = 256;  ///< fragments per datagram
  int64_t frag_timeout_us = 60'000'000;
  bool vxlan = true;   ///< decode UDP port 4789 as VXLAN
  bool geneve = true;  ///< decode UDP port 6081 as Geneve
  bool teredo = true;  ///< decode UDP port 3544 as Teredo (IPv6 in UDP) when it looks like it
  uint8_t max_tunnel_depth = 3;  ///< tunnels inside tunnels beyond this stay undecoded
};

/// Decoder counters (per worker).
struct DecodeStats {
  uint64_t pkts = 0, bytes = 0, invalid = 0;
  uint64_t ethernet = 0, vlan = 0, pppoe = 0, sll = 0, raw = 0, ipv4 = 0, ipv6 = 0, tcp = 0,
           udp = 0, icmpv4 = 0, icmpv6 = 0, other = 0, arp = 0;
  uint64_t gre = 0, vxlan = 0, geneve = 0, teredo = 0, ipip = 0, erspan = 0, nsh = 0;
  uint64_t checksum_bad = 0;
  uint64_t frag_fragments = 0, frag_reassembled = 0, frag_timeouts = 0, frag_overlaps = 0,
           frag_memcap = 0;
  uint64_t anomalies[static_cast<int>(Anomaly::kCount)] = {};
};

class Defragmenter;

/// Decodes captured frames into Packets. One per worker.
class Decoder {
 public:
  explicit Decoder(DecodeOptions options = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  /// What decode() made of a frame.
  enum class Outcome : uint8_t {
    kPacket,    ///< `packet` is filled (perhaps partially, with an anomaly)
    kFragment,  ///< an IP fragment was stored; no packet yet
  };

  /// Decodes `raw` into `packet` (reset first). `anomaly` is set when something was malformed;
  /// the layers decoded before the fault stay filled in. A completed fragmented datagram is
  /// returned as a packet whose views point into the decoder (valid until the next call).
  Outcome decode(const RawPacket& raw, Packet& packet, Anomaly& anomaly);

  /// After decode(): how many tunnel layers carried `packet` (0: none). Each layer's packet
  /// is inspected too, outermost first, as in Suricata.
  int tunnel_layers() const { return tunnel_layers_; }
  /// Layer `i` (0: the packet as captured) of the tunnels that carried `packet`.
  const Packet& tunnel_layer(int i) const { return tunnel_outer_[i]; }
  /// True when layer `i` is tracked in a flow of its own (a UDP tunnel, IP-in-IP); a GRE
  /// packet is inspected without one, as in Suricata.
  bool tunnel_layer_has_flow(int i) const { return tunnel_outer_[i].proto != ip_proto::kGre; }

  /// Turns checksum validation on or off (the `-k` switch, or the automatic choice).
  void set_check_checksums(bool on) { options_.check_checksums = on; }
  bool check_checksums() const { return options_.check_checksums; }

  const DecodeStats& stats() const { return stats_; }

 private:
  Anomaly decode_link(std::string_view frame, int link_type, Packet& p);
  Anomaly decode_ether_type(uint16_t type, std::string_view rest, Packet& p, int depth);
  Anomaly decode_ipv4(std::string_view d, Packet& p, bool inner);
  Anomaly decode_ipv6(std::string_view d, Packet& p, bool inner);
  Anomaly decode_l4(std::string_view d, Packet& p);
  // Tunnels: the packet becomes the inner packet when it decodes cleanly; otherwise the outer
  // packet stays as it was (true when the inner one was taken).
  bool try_tunnel(std::string_view inner, Packet& p, int kind, Anomaly& a);
  // Link-layer bytes in front of `ip` (an IP header in the frame or a tunnel's payload).
  uint32_t link_prefix(std::string_view ip) const {
    auto b = reinterpret_cast<uintptr_t>(link_start_.data());
    auto i = reinterpret_cast<uintptr_t>(ip.data());
    if (!b || i < b || i > b + link_start_.size()) return 0;
    return static_cast<uint32_t>(i - b);
  }

  DecodeOptions options_;
  DecodeStats stats_;
  std::unique_ptr<Defragmenter> defrag_;
  bool fragment_stored_ = false;
  bool in_reassembled_ = false;
  static constexpr int kMaxLayers = 8;
  int tunnel_layers_ = 0;
  std::string_view link_start_;      // the frame, or the payload of the tunnel being decoded
  std::string v6_header_;            // an IPv6 fragment's link layer and header, for reassembly
  Packet tunnel_outer_[kMaxLayers];  // the packets of the layers carrying the current one
  std::string reassembled_;          // the last completed fragmented datagram
  core::Timestamp now_;
};

/// TCP/UDP checksum over an IPv4 or IPv6 pseudo-header; true when correct (or absent for UDP/IPv4).
bool transport_checksum_ok(const Packet& p);
/// IPv4 header checksum; true when correct.
bool ipv4_checksum_ok(std::string_view header);

}  // namespace mimamori::net

namespace mimamori::net {

/// A symmetric hash of a frame's IP endpoints (both directions, and every fragment of a
/// datagram, give the same value), for spreading packets over workers. 0 for non-IP frames.
uint64_t endpoint_hash(const RawPacket& raw);

}  // namespace mimamori::net
