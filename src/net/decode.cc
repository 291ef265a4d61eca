#include "mimamori/net/decode.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "bytes.h"
#include "defrag.h"

namespace mimamori::net {
namespace {

constexpr std::array<std::string_view, static_cast<int>(Anomaly::kCount)> kAnomalyNames = {
    "",
    "decoder.ethernet.pkt_too_small",
    "decoder.ethernet.unknown_ethertype",
    "decoder.vlan.header_too_small",
    "decoder.vlan.too_many_layers",
    "decoder.pppoe.pkt_too_small",
    "decoder.pppoe.wrong_code",
    "decoder.pppoe.unknown_pppoe_proto",
    "decoder.sll.pkt_too_small",
    "decoder.unknown_link_type",
    "decoder.ipv4.pkt_too_small",
    "decoder.ipv4.wrong_ip_version",
    "decoder.ipv4.hlen_too_small",
    "decoder.ipv4.iplen_smaller_than_hlen",
    "decoder.ipv4.trunc_pkt",
    "decoder.ipv4.opt_invalid_len",
    "decoder.ipv6.pkt_too_small",
    "decoder.ipv6.wrong_ip_version",
    "decoder.ipv6.trunc_pkt",
    "decoder.ipv6.trunc_exthdr",
    "decoder.ipv6.exthdr_useless_fh",
    "decoder.tcp.pkt_too_small",
    "decoder.tcp.hlen_too_small",
    "decoder.tcp.invalid_optlen",
    "decoder.udp.pkt_too_small",
    "decoder.udp.hlen_invalid",
    "decoder.icmpv4.pkt_too_small",
    "decoder.icmpv6.pkt_too_small",
    "decoder.ipv4.frag_overlap",
    "decoder.ipv4.frag_pkt_too_large",
    "decoder.ipv4.frag_ignored",
};

// Tunnel kinds for Decoder::try_tunnel.
constexpr int kTunnelGre = 1, kTunnelVxlan = 2, kTunnelGeneve = 3, kTunnelTeredo = 4,
              kTunnelIpv4 = 5, kTunnelIpv6 = 6;

constexpr int kDltNull = 0, kDltEn10mb = 1, kDltRaw = 12, kDltRaw2 = 14, kDltLoop = 108,
              kDltLinktypeRaw = 101, kDltSll = 113, kDltSll2 = 276, kDltIpv4 = 228, kDltIpv6 = 229,
              kDltPpp = 9, kDltPppSerial = 50, kDltChdlc = 104;

PacketOrigin tunnel_origin(int kind, uint8_t outer_ip_version) {
  switch (kind) {
    case kTunnelGre:
      return PacketOrigin::kGre;
    case kTunnelVxlan:
      return PacketOrigin::kVxlan;
    case kTunnelGeneve:
      return PacketOrigin::kGeneve;
    case kTunnelTeredo:
      return PacketOrigin::kTeredo;
    default:
      return outer_ip_version == 6 ? PacketOrigin::kIpv6Tunnel : PacketOrigin::kIpv4Tunnel;
  }
}

uint32_t sum16(std::string_view d, uint32_t acc) {
  const auto* b = reinterpret_cast<const uint8_t*>(d.data());
  std::size_t n = d.size(), i = 0;
  for (; i + 1 < n; i += 2) acc += (uint32_t(b[i]) << 8) | b[i + 1];
  if (i < n) acc += uint32_t(b[i]) << 8;
  return acc;
}
uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

}  // namespace

std::string_view packet_origin_name(PacketOrigin s) {
  switch (s) {
    case PacketOrigin::kWire:
      return "wire/pcap";
    case PacketOrigin::kDefrag:
      return "defrag";
    case PacketOrigin::kGre:
      return "gre tunnel";
    case PacketOrigin::kIpv4Tunnel:
      return "ipv4 tunnel";
    case PacketOrigin::kIpv6Tunnel:
      return "ipv6 tunnel";
    case PacketOrigin::kTeredo:
      return "teredo tunnel";
    case PacketOrigin::kVxlan:
      return "vxlan encapsulation";
    case PacketOrigin::kGeneve:
      return "geneve encapsulation";
    case PacketOrigin::kFlowEnd:
      return "stream (flow timeout)";
  }
  return "wire/pcap";
}

std::string_view link_type_name(int link_type) {
  switch (link_type) {
    case kDltNull:
      return "NULL";
    case kDltEn10mb:
      return "EN10MB";
    case kDltPpp:
      return "PPP";
    case kDltRaw:
    case kDltRaw2:
    case kDltLinktypeRaw:
      return "RAW";
    case kDltPppSerial:
      return "PPP_SERIAL";
    case kDltChdlc:
      return "C_HDLC";
    case kDltLoop:
      return "LOOP";
    case kDltSll:
      return "LINUX_SLL";
    case kDltSll2:
      return "LINUX_SLL2";
    case kDltIpv4:
      return "IPv4";
    case kDltIpv6:
      return "IPv6";
    default:
      return {};
  }
}

std::string_view anomaly_name(Anomaly a) {
  auto i = static_cast<std::size_t>(a);
  return i < kAnomalyNames.size() ? kAnomalyNames[i] : std::string_view{};
}

bool ipv4_checksum_ok(std::string_view header) { return fold(sum16(header, 0)) == 0xffff; }

bool transport_checksum_ok(const Packet& p) {
  if (p.l4_header.empty() || p.ip_header.empty()) return true;
  // The transport segment: header plus payload are contiguous in the frame.
  std::string_view seg(p.l4_header.data(), p.l4_header.size() + p.payload.size());
  uint32_t acc = 0;
  if (p.proto == ip_proto::kUdp && p.ip_version == 4 && load_be16(p.l4_header.data() + 6) == 0)
    return true;  // UDP over IPv4 may omit its checksum
  if (p.proto == ip_proto::kIcmp) return fold(sum16(seg, 0)) == 0xffff;
  const auto& s = p.src_ip.bytes();
  const auto& d = p.dst_ip.bytes();
  int alen = p.ip_version == 4 ? 4 : 16;
  acc = sum16({reinterpret_cast<const char*>(s.data()), std::size_t(alen)}, acc);
  acc = sum16({reinterpret_cast<const char*>(d.data()), std::size_t(alen)}, acc);
  acc += p.proto;
  acc += static_cast<uint32_t>(seg.size() & 0xffff) + static_cast<uint32_t>(seg.size() >> 16);
  acc = sum16(seg, acc);
  return fold(acc) == 0xffff;
}

// ---------------------------------------------------------------------------------------------

Decoder::Decoder(DecodeOptions options)
    : options_(options),
      defrag_(std::make_unique<Defragmenter>(options.frag_trackers, options.frag_max_fragments,
                                             options.frag_timeout_us)) {}
Decoder::~Decoder() = default;

Decoder::Outcome Decoder::decode(const RawPacket& raw, Packet& p, Anomaly& anomaly) {
  p = Packet{};
  p.timestamp = raw.timestamp;
  p.data = raw.data;
  p.wire_length = raw.wire_length;
  p.link_type = raw.link_type;
  link_start_ = raw.data;
  now_ = raw.timestamp;
  fragment_stored_ = false;
  tunnel_layers_ = 0;
  ++stats_.pkts;
  stats_.bytes += raw.wire_length;
  anomaly = decode_link(raw.data, raw.link_type, p);
  if (anomaly != Anomaly::kNone) {
    ++stats_.invalid;
    ++stats_.anomalies[static_cast<int>(anomaly)];
  }
  if (fragment_stored_) return Outcome::kFragment;
  if (options_.check_checksums && !p.ip_header.empty() && anomaly == Anomaly::kNone) {
    bool ok = true;
    if (p.ip_version == 4 && !p.reassembled) ok = ipv4_checksum_ok(p.ip_header);
    if (ok && (p.is_tcp() || p.is_udp() || (p.proto == ip_proto::kIcmpv6 && !p.l4_header.empty()) ||
               (p.proto == ip_proto::kIcmp && !p.l4_header.empty())))
      ok = transport_checksum_ok(p);
    if (!ok) {
      p.checksum_bad = true;
      ++stats_.checksum_bad;
    }
  }
  return Outcome::kPacket;
}

Anomaly Decoder::decode_link(std::string_view f, int link_type, Packet& p) {
  switch (link_type) {
    case kDltEn10mb: {
      ++stats_.ethernet;
      if (f.size() < 14) return Anomaly::kEthTooSmall;
      return decode_ether_type(load_be16(f.data() + 12), f.substr(14), p, 0);
    }
    case kDltSll: {
      ++stats_.sll;
      if (f.size() < 16) return Anomaly::kSllTooSmall;
      return decode_ether_type(load_be16(f.data() + 14), f.substr(16), p, 0);
    }
    case kDltSll2: {
      ++stats_.sll;
      if (f.size() < 20) return Anomaly::kSllTooSmall;
      return decode_ether_type(load_be16(f.data()), f.substr(20), p, 0);
    }
    case kDltRaw:
    case kDltRaw2:
    case kDltLinktypeRaw:
    case kDltIpv4:
    case kDltIpv6: {
      ++stats_.raw;
      if (f.empty()) return Anomaly::kIpv4TooSmall;
      uint8_t v = static_cast<uint8_t>(f[0]) >> 4;
      if (v == 6) return decode_ipv6(f, p, false);
      return decode_ipv4(f, p, false);
    }
    case kDltNull:
    case kDltLoop: {
      if (f.size() < 4) return Anomaly::kEthTooSmall;
      std::string_view rest = f.substr(4);
      if (rest.empty()) return Anomaly::kIpv4TooSmall;
      uint8_t v = static_cast<uint8_t>(rest[0]) >> 4;
      return v == 6 ? decode_ipv6(rest, p, false) : decode_ipv4(rest, p, false);
    }
    case kDltChdlc: {  // Cisco HDLC: address, control, then an Ethernet type
      if (f.size() < 4) return Anomaly::kEthTooSmall;
      return decode_ether_type(load_be16(f.data() + 2), f.substr(4), p, 0);
    }
    case kDltPpp:
    case kDltPppSerial: {
      // PPP in HDLC-like framing (address 0xff, control 0x03) or bare protocol field.
      std::string_view d = f;
      if (d.size() >= 2 && uint8_t(d[0]) == 0xff && uint8_t(d[1]) == 0x03) d.remove_prefix(2);
      if (d.empty()) return Anomaly::kPppoeTooSmall;
      // The protocol field may be compressed to one byte (odd first byte, RFC 1661 PFC).
      std::size_t plen = (uint8_t(d[0]) & 1) ? 1 : 2;
      if (d.size() < plen) return Anomaly::kPppoeTooSmall;
      uint16_t proto = plen == 1 ? uint8_t(d[0]) : load_be16(d.data());
      if (proto == 0x0021) return decode_ipv4(d.substr(plen), p, false);
      if (proto == 0x0057) return decode_ipv6(d.substr(plen), p, false);
      ++stats_.other;
      return Anomaly::kNone;
    }
    default:
      return Anomaly::kUnknownLinkType;
  }
}

Anomaly Decoder::decode_ether_type(uint16_t type, std::string_view d, Packet& p, int depth) {
  switch (type) {
    case 0x0800:
      return decode_ipv4(d, p, false);
    case 0x86dd:
      return decode_ipv6(d, p, false);
    case 0x8100:
    case 0x88a8:
    case 0x9100: {
      ++stats_.vlan;
      if (d.size() < 4) return Anomaly::kVlanTooSmall;
      if (p.vlan_count >= 3 || depth > 4) return Anomaly::kVlanTooMany;
      p.vlan[p.vlan_count++] = load_be16(d.data()) & 0x0fff;
      return decode_ether_type(load_be16(d.data() + 2), d.substr(4), p, depth + 1);
    }
    case 0x8864: {  // PPPoE session: ver/type, code 0, session id, length, then PPP protocol
      ++stats_.pppoe;
      if (d.size() < 8) return Anomaly::kPppoeTooSmall;
      if (uint8_t(d[1]) != 0) return Anomaly::kPppoeWrongCode;
      uint16_t len = load_be16(d.data() + 4);
      std::string_view ppp = d.substr(6, std::min<std::size_t>(len, d.size() - 6));
      if (ppp.size() < 2) return Anomaly::kPppoeTooSmall;
      // The protocol field may be compressed to one byte (odd first byte, RFC 1661 PFC).
      std::size_t plen = (uint8_t(ppp[0]) & 1) ? 1 : 2;
      uint16_t proto = plen == 1 ? uint8_t(ppp[0]) : load_be16(ppp.data());
      if (proto == 0x0021) return decode_ipv4(ppp.substr(plen), p, false);
      if (proto == 0x0057) return decode_ipv6(ppp.substr(plen), p, false);
      ++stats_.other;  // LCP, IPCP, CHAP, ...: control traffic, not an error
      return Anomaly::kNone;
    }
    case 0x894f: {  // NSH (RFC 8300): base + service path header, metadata, then the next protocol
      ++stats_.nsh;
      if (d.size() < 8) return Anomaly::kEthTooSmall;
      std::size_t len = (uint8_t(d[1]) & 0x3f) * 4u;
      uint8_t next = uint8_t(d[3]);
      if (len < 8 || len > d.size()) return Anomaly::kEthTooSmall;
      std::string_view r = d.substr(len);
      if (next == 1) return decode_ipv4(r, p, false);
      if (next == 2) return decode_ipv6(r, p, false);
      if (next == 3) {
        if (r.size() < 14) return Anomaly::kEthTooSmall;
        return decode_ether_type(load_be16(r.data() + 12), r.substr(14), p, depth + 1);
      }
      ++stats_.other;
      return Anomaly::kNone;
    }
    case 0x8863:  // PPPoE discovery
      ++stats_.pppoe;
      return Anomaly::kNone;
    case 0x0806:
      ++stats_.arp;
      return Anomaly::kNone;
    case 0x8847: {  // MPLS unicast: skip labels to the bottom of the stack, then IP by version
      std::string_view r = d;
      for (int i = 0; i < 8; ++i) {
        if (r.size() < 4) return Anomaly::kEthTooSmall;
        bool bottom = (uint8_t(r[2]) & 1) != 0;
        r.remove_prefix(4);
        if (bottom) break;
      }
      if (r.empty()) return Anomaly::kEthTooSmall;
      uint8_t v = uint8_t(r[0]) >> 4;
      if (v == 4) return decode_ipv4(r, p, false);
      if (v == 6) return decode_ipv6(r, p, false);
      ++stats_.other;
      return Anomaly::kNone;
    }
    default:
      ++stats_.other;
      // Types below 0x0600 are 802.3 lengths (LLC/STP, CDP...): not IP, not malformed.
      if (type < 0x0600 || type == 0x88cc || type == 0x888e || type == 0x8035 || type == 0x88e5 ||
          type == 0x8809 || type == 0x9000 || type == 0x88f7 || type == 0x893a || type == 0x8899)
        return Anomaly::kNone;
      return Anomaly::kEthUnknownType;
  }
}

Anomaly Decoder::decode_ipv4(std::string_view d, Packet& p, bool inner) {
  (void)inner;
  ++stats_.ipv4;
  if (d.size() < 20) return Anomaly::kIpv4TooSmall;
  const auto* b = reinterpret_cast<const uint8_t*>(d.data());
  if ((b[0] >> 4) != 4) return Anomaly::kIpv4WrongVersion;
  uint32_t hlen = (b[0] & 0x0f) * 4u;
  if (hlen < 20) return Anomaly::kIpv4HlenTooSmall;
  uint32_t total = load_be16(d.data() + 2);
  if (total < hlen) return Anomaly::kIpv4IplenSmallerThanHlen;
  if (d.size() < hlen || d.size() < total) {
    // TSO/GRO captures carry total length 0 with a full frame; take the frame then.
    if (total == 0 && d.size() >= hlen) {
      total = static_cast<uint32_t>(d.size());
    } else {
      return Anomaly::kIpv4Trunc;
    }
  }
  p.ip_version = 4;
  p.tos = b[1];
  p.ip_id = load_be16(d.data() + 4);
  uint16_t frag = load_be16(d.data() + 6);
  p.ip_df = (frag & 0x4000) != 0;
  p.ttl = b[8];
  p.proto = b[9];
  p.src_ip = core::IpAddress::v4(b + 12);
  p.dst_ip = core::IpAddress::v4(b + 16);
  p.ip_header = d.substr(0, hlen);
  p.ip_options = hlen > 20;
  if (hlen > 20) {
    // Walk the options only to reject lengths that run past the header.
    uint32_t i = 20;
    while (i < hlen) {
      uint8_t t = b[i];
      if (t == 0) break;
      if (t == 1) {
        ++i;
        continue;
      }
      if (i + 1 >= hlen || b[i + 1] < 2 || i + b[i + 1] > hlen) return Anomaly::kIpv4OptInvalidLen;
      i += b[i + 1];
    }
  }
  std::string_view body = d.substr(hlen, total - hlen);
  bool more = (frag & 0x2000) != 0;
  uint32_t offset = (frag & 0x1fff) * 8u;
  if (more || offset != 0) {
    ++stats_.frag_fragments;
    // A fragment inside a tunnel inside a reassembled datagram: reassembled_ is in use.
    if (in_reassembled_) return Anomaly::kFragIgnored;
    Defragmenter::Key key{p.src_ip, p.dst_ip, p.ip_id, p.proto};
    Anomaly a = Anomaly::kNone;
    uint32_t prefix = link_prefix(d);
    uint32_t out_prefix = 0;
    bool done = defrag_->add(key, now_, {d.data() - prefix, prefix + hlen}, prefix, offset, body,
                             more, reassembled_, out_prefix, stats_, a);
    if (!done) {
      fragment_stored_ = true;
      return a;
    }
    // Fix the header of the reassembled datagram: total length, no fragment bits.
    char* ip = reassembled_.data() + out_prefix;
    store_be16(ip + 2, static_cast<uint16_t>(
                           std::min<std::size_t>(reassembled_.size() - out_prefix, 65535)));
    store_be16(ip + 6, 0);
    in_reassembled_ = true;
    Anomaly inner_a = decode_ipv4(std::string_view(reassembled_).substr(out_prefix), p, true);
    in_reassembled_ = false;
    // The reassembled packet is the first fragment's link layer and the whole datagram.
    if (!p.root) p.data = reassembled_;
    p.reassembled = true;
    if (p.origin == PacketOrigin::kWire) p.origin = PacketOrigin::kDefrag;
    --stats_.ipv4;
    return a != Anomaly::kNone ? a : inner_a;
  }
  return decode_l4(body, p);
}

Anomaly Decoder::decode_ipv6(std::string_view d, Packet& p, bool inner) {
  (void)inner;
  ++stats_.ipv6;
  if (d.size() < 40) return Anomaly::kIpv6TooSmall;
  const auto* b = reinterpret_cast<const uint8_t*>(d.data());
  if ((b[0] >> 4) != 6) return Anomaly::kIpv6WrongVersion;
  uint32_t plen = load_be16(d.data() + 4);
  if (d.size() < 40 + plen) return Anomaly::kIpv6Trunc;
  if (plen == 0) plen = static_cast<uint32_t>(d.size() - 40);  // jumbogram or TSO: use the frame
  p.ip_version = 6;
  p.tos = static_cast<uint8_t>(((b[0] & 0x0f) << 4) | (b[1] >> 4));
  p.ttl = b[7];
  p.src_ip = core::IpAddress::v6(b + 8);
  p.dst_ip = core::IpAddress::v6(b + 24);
  uint8_t next = b[6];
  std::size_t off = 40, end = 40 + plen;
  // Extension headers.
  for (int n = 0; n < 16; ++n) {
    if (next == 0 || next == 43 || next == 60 || next == 51 || next == 135 || next == 139 ||
        next == 140) {
      if (off + 8 > end) return Anomaly::kIpv6TruncExthdr;
      std::size_t len =
          next == 51 ? (uint32_t(b[off + 1]) + 2) * 4 : (uint32_t(b[off + 1]) + 1) * 8;
      if (off + len > end) return Anomaly::kIpv6TruncExthdr;
      p.ip_options = true;
      next = b[off];
      off += len;
      continue;
    }
    if (next == 44) {  // fragment header
      if (off + 8 > end) return Anomaly::kIpv6TruncExthdr;
      p.ip_options = true;
      uint16_t fo = load_be16(d.data() + off + 2);
      uint32_t offset = fo & 0xfff8;
      bool more = (fo & 1) != 0;
      uint32_t id = load_be32(d.data() + off + 4);
      uint8_t inner_next = b[off];
      if (!more && offset == 0) {  // atomic fragment: useless but harmless
        next = inner_next;
        off += 8;
        p.ip_header = d.substr(0, off);
        p.proto = next;
        if (next == 59) return Anomaly::kNone;
        Anomaly a = decode_l4(d.substr(off, end - off), p);
        return a != Anomaly::kNone ? a : Anomaly::kIpv6ExthdrUselessFh;
      }
      ++stats_.frag_fragments;
      if (in_reassembled_) return Anomaly::kFragIgnored;
      // The reassembled datagram gets the link layer and a plain 40-byte header whose next
      // header is the fragmented payload's.
      uint32_t prefix = link_prefix(d);
      v6_header_.assign(d.data() - prefix, prefix + 40);
      v6_header_[prefix + 6] = static_cast<char>(inner_next);
      Defragmenter::Key key{p.src_ip, p.dst_ip, id, 0};
      Anomaly a = Anomaly::kNone;
      uint32_t out_prefix = 0;
      bool done =
          defrag_->add(key, now_, v6_header_, prefix, offset, d.substr(off + 8, end - off - 8),
                       more, reassembled_, out_prefix, stats_, a);
      if (!done) {
        fragment_stored_ = true;
        return a;
      }
      store_be16(reassembled_.data() + out_prefix + 4,
                 static_cast<uint16_t>(
                     std::min<std::size_t>(reassembled_.size() - out_prefix - 40, 65535)));
      in_reassembled_ = true;
      Anomaly inner_a = decode_ipv6(std::string_view(reassembled_).substr(out_prefix), p, true);
      in_reassembled_ = false;
      if (!p.root) p.data = reassembled_;
      p.reassembled = true;
      if (p.origin == PacketOrigin::kWire) p.origin = PacketOrigin::kDefrag;
      --stats_.ipv6;
      return a != Anomaly::kNone ? a : inner_a;
    }
    break;
  }
  p.proto = next;
  p.ip_header = d.substr(0, off);
  return decode_l4(d.substr(off, end - off), p);
}

Anomaly Decoder::decode_l4(std::string_view d, Packet& p) {
  switch (p.proto) {
    case ip_proto::kTcp: {
      ++stats_.tcp;
      if (d.size() < 20) return Anomaly::kTcpTooSmall;
      uint32_t hlen = (uint8_t(d[12]) >> 4) * 4u;
      if (hlen < 20) return Anomaly::kTcpHlenTooSmall;
      if (hlen > d.size()) return Anomaly::kTcpInvalidOptlen;
      p.src_port = load_be16(d.data());
      p.dst_port = load_be16(d.data() + 2);
      p.tcp_seq = load_be32(d.data() + 4);
      p.tcp_ack = load_be32(d.data() + 8);
      p.tcp_flags = uint8_t(d[13]);
      p.tcp_window = load_be16(d.data() + 14);
      p.l4_header = d.substr(0, hlen);
      p.payload = d.substr(hlen);
      return Anomaly::kNone;
    }
    case ip_proto::kUdp: {
      ++stats_.udp;
      if (d.size() < 8) return Anomaly::kUdpTooSmall;
      uint32_t len = load_be16(d.data() + 4);
      if (len < 8 || len > d.size()) {
        if (len != 0) return Anomaly::kUdpHlenInvalid;
        len = static_cast<uint32_t>(d.size());  // jumbo/TSO
      }
      p.src_port = load_be16(d.data());
      p.dst_port = load_be16(d.data() + 2);
      p.l4_header = d.substr(0, 8);
      p.payload = d.substr(8, len - 8);
      if (p.tunnel_depth < options_.max_tunnel_depth) {
        Anomaly a = Anomaly::kNone;
        uint16_t sp = p.src_port, dp = p.dst_port;
        if (options_.vxlan && dp == 4789 && try_tunnel(p.payload, p, kTunnelVxlan, a)) return a;
        if (options_.geneve && dp == 6081 && try_tunnel(p.payload, p, kTunnelGeneve, a)) return a;
        if (options_.teredo && (sp == 3544 || dp == 3544) &&
            try_tunnel(p.payload, p, kTunnelTeredo, a))
          return a;
      }
      return Anomaly::kNone;
    }
    case ip_proto::kIcmp:
    case ip_proto::kIcmpv6: {
      bool v6 = p.proto == ip_proto::kIcmpv6;
      ++(v6 ? stats_.icmpv6 : stats_.icmpv4);
      if (d.size() < 4) return v6 ? Anomaly::kIcmpv6TooSmall : Anomaly::kIcmpv4TooSmall;
      p.icmp_type = uint8_t(d[0]);
      p.icmp_code = uint8_t(d[1]);
      std::size_t h = std::min<std::size_t>(8, d.size());
      if (d.size() >= 8) {
        p.icmp_id = load_be16(d.data() + 4);
        p.icmp_seq = load_be16(d.data() + 6);
      }
      p.l4_header = d.substr(0, h);
      p.payload = d.substr(h);
      return Anomaly::kNone;
    }
    case ip_proto::kSctp:
      ++stats_.other;
      if (d.size() >= 12) {
        p.src_port = load_be16(d.data());
        p.dst_port = load_be16(d.data() + 2);
        p.l4_header = d.substr(0, 12);
        p.payload = d.substr(12);
      }
      return Anomaly::kNone;
    case ip_proto::kGre:
    case ip_proto::kIpip:
    case ip_proto::kIpv6InIp: {
      p.payload = d;
      if (p.tunnel_depth >= options_.max_tunnel_depth) {
        ++stats_.other;
        return Anomaly::kNone;
      }
      Anomaly a = Anomaly::kNone;
      if (p.proto == ip_proto::kGre) {
        ++stats_.gre;
        try_tunnel(d, p, kTunnelGre, a);
      } else {
        ++stats_.ipip;
        try_tunnel(d, p, p.proto == ip_proto::kIpip ? kTunnelIpv4 : kTunnelIpv6, a);
      }
      return a;
    }
    default:
      ++stats_.other;
      p.payload = d;
      return Anomaly::kNone;
  }
}

bool Decoder::try_tunnel(std::string_view d, Packet& p, int kind, Anomaly& a) {
  // Each kind yields where the inner packet starts and what it is.
  uint16_t ether_type = 0;  // 0x6558: an Ethernet frame; 0x0800 / 0x86dd: IP
  std::string_view inner;
  switch (kind) {
    case kTunnelVxlan:  // flags (I bit), reserved, VNI, reserved; then Ethernet
      if (d.size() < 8 + 14 || (uint8_t(d[0]) & 0x08) == 0) return false;
      ++stats_.vxlan;
      inner = d.substr(8);
      ether_type = 0x6558;
      break;
    case kTunnelGeneve: {  // version 0, option length in 4-byte words, protocol type
      if (d.size() < 8 || (uint8_t(d[0]) >> 6) != 0) return false;
      std::size_t len = 8 + (uint8_t(d[0]) & 0x3f) * 4u;
      if (len > d.size()) return false;
      ++stats_.geneve;
      ether_type = load_be16(d.data() + 2);
      inner = d.substr(len);
      break;
    }
    case kTunnelTeredo: {
      // Optional authentication (type 0x0001) and origin indication (type 0x0000)
      // headers, then an IPv6 packet whose payload length fills the datagram exactly.
      std::string_view r = d;
      if (r.size() >= 4 && uint8_t(r[0]) == 0 && uint8_t(r[1]) == 1) {
        std::size_t n = 4u + uint8_t(r[2]) + uint8_t(r[3]) + 9u;
        if (n > r.size()) return false;
        r.remove_prefix(n);
      }
      if (r.size() >= 8 && uint8_t(r[0]) == 0 && uint8_t(r[1]) == 0) r.remove_prefix(8);
      if (r.size() < 40 || (uint8_t(r[0]) >> 4) != 6) return false;
      if (load_be16(r.data() + 4) + 40u != r.size()) return false;
      ++stats_.teredo;
      inner = r;
      ether_type = 0x86dd;
      break;
    }
    case kTunnelIpv4:
      inner = d;
      ether_type = 0x0800;
      break;
    case kTunnelIpv6:
      inner = d;
      ether_type = 0x86dd;
      break;
    case kTunnelGre: {
      // GRE (RFC 2784/2890): flags, version, protocol; optional checksum, key, sequence.
      // Version 1 is PPTP's enhanced GRE carrying PPP.
      if (d.size() < 4) return false;
      uint8_t f = uint8_t(d[0]);
      uint8_t ver = uint8_t(d[1]) & 0x07;
      uint16_t proto = load_be16(d.data() + 2);
      std::size_t off = 4;
      if (ver == 0) {
        if (f & 0x80) off += 4;  // checksum + reserved
        if (f & 0x20) off += 4;  // key
        if (f & 0x10) off += 4;  // sequence
      } else if (ver == 1) {
        off += 4;                            // payload length, call id
        if (f & 0x10) off += 4;              // sequence
        if (uint8_t(d[1]) & 0x80) off += 4;  // acknowledgment
      } else {
        return false;
      }
      if (off > d.size()) return false;
      inner = d.substr(off);
      if (ver == 1) {
        if (proto != 0x880b) return false;
        // PPP inside: address/control may be present, the protocol field may be compressed.
        if (inner.size() >= 2 && uint8_t(inner[0]) == 0xff && uint8_t(inner[1]) == 0x03)
          inner.remove_prefix(2);
        if (inner.empty()) return false;
        std::size_t plen = (uint8_t(inner[0]) & 1) ? 1 : 2;
        if (inner.size() < plen) return false;
        uint16_t pp = plen == 1 ? uint8_t(inner[0]) : load_be16(inner.data());
        inner.remove_prefix(plen);
        if (pp == 0x0021)
          ether_type = 0x0800;
        else if (pp == 0x0057)
          ether_type = 0x86dd;
        else
          return false;
      } else if (proto == 0x88be) {
        // ERSPAN type II (sequence bit set: an 8-byte header) or type I (no header).
        ++stats_.erspan;
        if (f & 0x10) {
          if (inner.size() < 8) return false;
          inner.remove_prefix(8);
        }
        ether_type = 0x6558;
      } else if (proto == 0x22eb) {  // ERSPAN type III: 12-byte header, 8 more with O bit
        ++stats_.erspan;
        if (inner.size() < 12) return false;
        bool o = (uint8_t(inner[11]) & 0x01) != 0;
        inner.remove_prefix(o ? 20 : 12);
        ether_type = 0x6558;
        if (inner.size() < 14) return false;
      } else {
        ether_type = proto;
      }
      break;
    }
    default:
      return false;
  }
  if (ether_type != 0x6558 && ether_type != 0x0800 && ether_type != 0x86dd &&
      ether_type != 0x8100 && ether_type != 0x894f)
    return false;
  Packet outer = p;
  std::string_view saved_link = link_start_;
  // The inner packet starts afresh above the link layer; VLAN tags are kept (Suricata does).
  // Its data starts where the tunnel's payload does, as a raw link (Suricata's DLT_RAW).
  p.data = inner;
  p.link_type = kLinkTypeRaw;
  link_start_ = inner;
  p.ip_version = 0;
  p.src_ip = p.dst_ip = core::IpAddress{};
  p.proto = p.ttl = p.tos = 0;
  p.ip_id = 0;
  p.ip_df = p.ip_options = false;
  p.ip_header = p.l4_header = p.payload = {};
  p.src_port = p.dst_port = 0;
  p.tcp_flags = 0;
  p.tcp_seq = p.tcp_ack = 0;
  p.tcp_window = 0;
  p.icmp_type = p.icmp_code = 0;
  p.icmp_id = p.icmp_seq = 0;
  ++p.tunnel_depth;
  Anomaly inner_a;
  if (ether_type == 0x6558) {
    if (inner.size() < 14) {
      p = outer;
      link_start_ = saved_link;
      return false;
    }
    inner_a = decode_ether_type(load_be16(inner.data() + 12), inner.substr(14), p, 0);
  } else {
    inner_a = decode_ether_type(ether_type, inner, p, 0);
  }
  link_start_ = saved_link;
  if (fragment_stored_) {
    a = inner_a;
    return true;
  }
  if (p.ip_version == 0 || inner_a != Anomaly::kNone) {
    // Not a clean inner IP packet: keep the outer packet (its flow, its payload).
    p = outer;
    return false;
  }
  // The inner packet's length is what its flow counts.
  p.wire_length = static_cast<uint32_t>(inner.size());
  // Every layer is inspected on its own too, tracked in a flow of its own except for GRE (as
  // Suricata does); the outermost is the root. Inner tunnels finish first.
  int level = outer.tunnel_depth;
  if (level >= kMaxLayers) {
    p = outer;
    return false;
  }
  PacketOrigin here = tunnel_origin(kind, outer.ip_version);
  // A packet is named by the tunnel closest to it: an inner tunnel named this one already.
  if (!p.root) p.origin = here;
  if (level + 1 < tunnel_layers_) tunnel_outer_[level + 1].origin = here;
  tunnel_outer_[level] = outer;
  tunnel_layers_ = std::max(tunnel_layers_, level + 1);
  tunnel_outer_[0].root = nullptr;
  for (int i = 1; i < tunnel_layers_; ++i) tunnel_outer_[i].root = &tunnel_outer_[0];
  p.root = &tunnel_outer_[0];
  a = Anomaly::kNone;
  return true;
}

}  // namespace mimamori::net

namespace mimamori::net {

uint64_t endpoint_hash(const RawPacket& raw) {
  std::string_view d = raw.data;
  uint16_t type = 0;
  switch (raw.link_type) {
    case kDltEn10mb:
      if (d.size() < 14) return 0;
      type = load_be16(d.data() + 12);
      d.remove_prefix(14);
      break;
    case kDltSll:
      if (d.size() < 16) return 0;
      type = load_be16(d.data() + 14);
      d.remove_prefix(16);
      break;
    case kDltSll2:
      if (d.size() < 20) return 0;
      type = load_be16(d.data());
      d.remove_prefix(20);
      break;
    case kDltNull:
    case kDltLoop:
      if (d.size() < 4) return 0;
      d.remove_prefix(4);
      type = 0;
      break;
    default:
      type = 0;
      break;
  }
  for (int i = 0; i < 3 && (type == 0x8100 || type == 0x88a8 || type == 0x9100); ++i) {
    if (d.size() < 4) return 0;
    type = load_be16(d.data() + 2);
    d.remove_prefix(4);
  }
  if (type == 0x8864) {
    if (d.size() < 8) return 0;
    uint16_t proto = load_be16(d.data() + 6);
    d.remove_prefix(8);
    type = proto == 0x0021 ? 0x0800 : proto == 0x0057 ? 0x86dd : 1;
  }
  if (type == 0 && !d.empty()) type = (uint8_t(d[0]) >> 4) == 6 ? 0x86dd : 0x0800;
  auto mix = [](const char* p, std::size_t n) {
    uint64_t h = 0;
    for (std::size_t i = 0; i < n; ++i) h = h * 131 + static_cast<uint8_t>(p[i]);
    return h * 0x9e3779b97f4a7c15ull;
  };
  if (type == 0x0800 && d.size() >= 20) return (mix(d.data() + 12, 4) ^ mix(d.data() + 16, 4)) | 1;
  if (type == 0x86dd && d.size() >= 40) return (mix(d.data() + 8, 16) ^ mix(d.data() + 24, 16)) | 1;
  return 0;
}

}  // namespace mimamori::net
