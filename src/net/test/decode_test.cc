#include "mimamori/net/decode.h"

#include <gtest/gtest.h>

#include <string>

namespace mimamori::net {
namespace {

// Builds frames by hand so each test says exactly which bytes it feeds the decoder.
std::string eth(uint16_t type) {
  std::string f(12, '\x02');
  f.push_back(static_cast<char>(type >> 8));
  f.push_back(static_cast<char>(type & 0xff));
  return f;
}

void put16(std::string& s, std::size_t off, uint16_t v) {
  s[off] = static_cast<char>(v >> 8);
  s[off + 1] = static_cast<char>(v & 0xff);
}

uint16_t csum(const std::string& d, std::size_t off, std::size_t len, uint32_t acc = 0) {
  for (std::size_t i = 0; i + 1 < len; i += 2)
    acc += (uint32_t(uint8_t(d[off + i])) << 8) | uint8_t(d[off + i + 1]);
  if (len & 1) acc += uint32_t(uint8_t(d[off + len - 1])) << 8;
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}

// IPv4 header (20 bytes) with the given total length, id, fragment field and protocol.
std::string ipv4(uint16_t total, uint16_t id, uint16_t frag, uint8_t proto) {
  std::string h(20, '\0');
  h[0] = 0x45;
  put16(h, 2, total);
  put16(h, 4, id);
  put16(h, 6, frag);
  h[8] = 64;
  h[9] = static_cast<char>(proto);
  h[12] = 10, h[13] = 0, h[14] = 0, h[15] = 1;
  h[16] = 10, h[17] = 0, h[18] = 0, h[19] = 2;
  put16(h, 10, csum(h, 0, 20));
  return h;
}

std::string udp(uint16_t sport, uint16_t dport, const std::string& payload) {
  std::string u(8, '\0');
  put16(u, 0, sport);
  put16(u, 2, dport);
  put16(u, 4, static_cast<uint16_t>(8 + payload.size()));
  return u + payload;
}

RawPacket raw(const std::string& frame, int64_t us = 1'000'000) {
  RawPacket r;
  r.timestamp.micros = us;
  r.data = frame;
  r.wire_length = static_cast<uint32_t>(frame.size());
  r.link_type = 1;
  return r;
}

TEST(Decoder, DecodesVlanQinqIpv4Udp) {
  std::string payload = "hello";
  std::string frame = eth(0x88a8);
  frame += std::string("\x00\x64\x81\x00", 4);  // outer VLAN 100, inner TPID
  frame += std::string("\x00\x0a\x08\x00", 4);  // inner VLAN 10, IPv4
  std::string u = udp(1234, 53, payload);
  frame += ipv4(static_cast<uint16_t>(20 + u.size()), 1, 0, 17) + u;
  Decoder d({.check_checksums = false});
  Packet p;
  Anomaly a;
  ASSERT_EQ(d.decode(raw(frame), p, a), Decoder::Outcome::kPacket);
  EXPECT_EQ(a, Anomaly::kNone);
  EXPECT_EQ(p.vlan_count, 2);
  EXPECT_EQ(p.vlan[0], 100);
  EXPECT_EQ(p.vlan[1], 10);
  EXPECT_EQ(p.src_ip.to_string(), "10.0.0.1");
  EXPECT_EQ(p.dst_port, 53);
  EXPECT_EQ(p.payload, payload);
}

TEST(Decoder, DecodesPppoeSessionWithCompressedProtocol) {
  std::string u = udp(1, 2, "x");
  std::string ip = ipv4(static_cast<uint16_t>(20 + u.size()), 7, 0, 17) + u;
  std::string frame = eth(0x8864);
  std::string pppoe("\x11\x00\x00\x2d\x00\x00\x21", 7);  // PFC: one-byte protocol 0x21
  put16(pppoe, 4, static_cast<uint16_t>(1 + ip.size()));
  frame += pppoe + ip;
  Decoder d({.check_checksums = false});
  Packet p;
  Anomaly a;
  d.decode(raw(frame), p, a);
  EXPECT_EQ(a, Anomaly::kNone);
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.payload, "x");
  EXPECT_EQ(d.stats().pppoe, 1u);
}

TEST(Decoder, TruncatedIpv4IsAnAnomalyNotACrash) {
  std::string frame = eth(0x0800) + ipv4(200, 1, 0, 6).substr(0, 20) + "abc";
  Decoder d;
  Packet p;
  Anomaly a;
  d.decode(raw(frame), p, a);
  EXPECT_EQ(a, Anomaly::kIpv4Trunc);
  EXPECT_EQ(anomaly_name(a), "decoder.ipv4.trunc_pkt");
  EXPECT_EQ(d.stats().invalid, 1u);
  // Every prefix of a valid frame decodes without crashing.
  std::string good = eth(0x0800) + ipv4(28, 1, 0, 17) + udp(1, 2, "");
  for (std::size_t n = 0; n <= good.size(); ++n) d.decode(raw(good.substr(0, n)), p, a);
}

TEST(Decoder, ReassemblesIpv4FragmentsOutOfOrderFirstCopyWins) {
  std::string payload = udp(5000, 53, std::string(24, 'A'));  // 32 bytes: 4 fragments of 8
  std::string later = payload;
  later.replace(16, 8, std::string(8, 'Z'));  // a conflicting copy of the third fragment
  Decoder d({.check_checksums = false});
  Packet p;
  Anomaly a;
  auto frag = [&](const std::string& src, int idx, bool more) {
    uint16_t field = static_cast<uint16_t>((idx * 8) / 8) | (more ? 0x2000 : 0);
    return eth(0x0800) + ipv4(28, 42, field, 17) + src.substr(idx * 8, 8);
  };
  EXPECT_EQ(d.decode(raw(frag(payload, 3, false)), p, a), Decoder::Outcome::kFragment);
  EXPECT_EQ(d.decode(raw(frag(payload, 2, true)), p, a), Decoder::Outcome::kFragment);
  EXPECT_EQ(d.decode(raw(frag(later, 2, true)), p, a), Decoder::Outcome::kFragment);
  EXPECT_EQ(a, Anomaly::kFragOverlap);
  EXPECT_EQ(d.decode(raw(frag(payload, 0, true)), p, a), Decoder::Outcome::kFragment);
  ASSERT_EQ(d.decode(raw(frag(payload, 1, true)), p, a), Decoder::Outcome::kPacket);
  EXPECT_TRUE(p.reassembled);
  EXPECT_EQ(p.dst_port, 53);
  EXPECT_EQ(p.payload, std::string(24, 'A'));  // the first copy of fragment 3 won
  EXPECT_EQ(d.stats().frag_reassembled, 1u);
  EXPECT_EQ(d.stats().frag_overlaps, 1u);
}

TEST(Decoder, ChecksumsAreValidatedUnlessSwitchedOff) {
  std::string u = udp(1, 2, "data");
  u[6] = 0x12;  // a wrong, non-zero UDP checksum
  std::string frame = eth(0x0800) + ipv4(static_cast<uint16_t>(20 + u.size()), 1, 0, 17) + u;
  Decoder d;
  Packet p;
  Anomaly a;
  d.decode(raw(frame), p, a);
  EXPECT_TRUE(p.checksum_bad);
  d.set_check_checksums(false);
  d.decode(raw(frame), p, a);
  EXPECT_FALSE(p.checksum_bad);
}

TEST(Decoder, DecodesIpv6WithExtensionHeaderAndTcp) {
  std::string tcp(20, '\0');
  put16(tcp, 0, 40000);
  put16(tcp, 2, 443);
  tcp[12] = 0x50;
  tcp[13] = 0x02;
  std::string hop(8, '\0');
  hop[0] = 6;  // next: TCP
  std::string ip6(40, '\0');
  ip6[0] = 0x60;
  put16(ip6, 4, static_cast<uint16_t>(hop.size() + tcp.size()));
  ip6[6] = 0;  // hop-by-hop
  ip6[7] = 33;
  ip6[8] = 0x20, ip6[9] = 0x01, ip6[23] = 1;
  ip6[24] = 0x20, ip6[25] = 0x01, ip6[39] = 2;
  std::string frame = eth(0x86dd) + ip6 + hop + tcp;
  Decoder d({.check_checksums = false});
  Packet p;
  Anomaly a;
  d.decode(raw(frame), p, a);
  EXPECT_EQ(a, Anomaly::kNone);
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_TRUE(p.ip_options);
  EXPECT_EQ(p.proto, ip_proto::kTcp);
  EXPECT_EQ(p.tcp_flags, tcp_flag::kSyn);
  EXPECT_EQ(p.ttl, 33);
  EXPECT_EQ(p.src_ip.to_string(), "2001::1");
}

// An IPv4 header like ipv4() whose addresses are 192.168.0.1 -> 192.168.0.2 (an inner packet).
std::string inner_ipv4(uint16_t total, uint8_t proto) {
  std::string h = ipv4(total, 7, 0, proto);
  h[12] = char(192), h[13] = char(168), h[14] = 0, h[15] = 1;
  h[16] = char(192), h[17] = char(168), h[18] = 0, h[19] = 2;
  put16(h, 10, 0);
  put16(h, 10, csum(h, 0, 20));
  return h;
}

TEST(Decoder, IpInIpKeepsTheOuterPacketAsTunnelRootWithAFlow) {
  std::string u = udp(1234, 53, "query");
  std::string inner = inner_ipv4(static_cast<uint16_t>(20 + u.size()), 17) + u;
  std::string frame =
      eth(0x0800) + ipv4(static_cast<uint16_t>(20 + inner.size()), 1, 0, ip_proto::kIpip) + inner;
  Decoder d({.check_checksums = false});
  Packet p;
  Anomaly a;
  ASSERT_EQ(d.decode(raw(frame), p, a), Decoder::Outcome::kPacket);
  EXPECT_EQ(a, Anomaly::kNone);
  EXPECT_EQ(p.src_ip.to_string(), "192.168.0.1");
  EXPECT_EQ(p.dst_port, 53);
  EXPECT_EQ(p.tunnel_depth, 1);
  EXPECT_EQ(p.origin, PacketOrigin::kIpv4Tunnel);
  EXPECT_EQ(packet_origin_name(p.origin), "ipv4 tunnel");
  // The inner packet's data starts at its own IP header, as a raw link.
  EXPECT_EQ(p.link_type, kLinkTypeRaw);
  EXPECT_EQ(p.data, inner);
  ASSERT_EQ(d.tunnel_layers(), 1);
  ASSERT_EQ(p.root, &d.tunnel_layer(0));
  EXPECT_EQ(p.root->proto, ip_proto::kIpip);
  EXPECT_EQ(p.root->src_ip.to_string(), "10.0.0.1");
  EXPECT_EQ(p.root->origin, PacketOrigin::kWire);
  EXPECT_TRUE(d.tunnel_layer_has_flow(0));
  // The next plain packet has no tunnel layers left over.
  std::string plain = eth(0x0800) + ipv4(static_cast<uint16_t>(20 + u.size()), 2, 0, 17) + u;
  d.decode(raw(plain), p, a);
  EXPECT_EQ(d.tunnel_layers(), 0);
  EXPECT_EQ(p.root, nullptr);
  EXPECT_EQ(p.origin, PacketOrigin::kWire);
}

TEST(Decoder, GreRootIsInspectedWithoutAFlowAndNestedLayersAreKept) {
  std::string u = udp(1234, 53, "query");
  std::string inner = inner_ipv4(static_cast<uint16_t>(20 + u.size()), 17) + u;
  std::string gre = std::string("\x00\x00\x08\x00", 4) + inner;
  // GRE inside IP-in-IP: two layers, the outermost first.
  std::string mid = ipv4(static_cast<uint16_t>(20 + gre.size()), 3, 0, ip_proto::kGre) + gre;
  std::string frame =
      eth(0x0800) + ipv4(static_cast<uint16_t>(20 + mid.size()), 4, 0, ip_proto::kIpip) + mid;
  Decoder d({.check_checksums = false});
  Packet p;
  Anomaly a;
  ASSERT_EQ(d.decode(raw(frame), p, a), Decoder::Outcome::kPacket);
  EXPECT_EQ(a, Anomaly::kNone);
  EXPECT_EQ(p.tunnel_depth, 2);
  EXPECT_EQ(p.origin, PacketOrigin::kGre);
  ASSERT_EQ(d.tunnel_layers(), 2);
  EXPECT_EQ(d.tunnel_layer(0).proto, ip_proto::kIpip);
  EXPECT_TRUE(d.tunnel_layer_has_flow(0));
  EXPECT_EQ(d.tunnel_layer(1).proto, ip_proto::kGre);
  EXPECT_FALSE(d.tunnel_layer_has_flow(1));
  EXPECT_EQ(d.tunnel_layer(1).origin, PacketOrigin::kIpv4Tunnel);
  EXPECT_EQ(d.tunnel_layer(1).root, &d.tunnel_layer(0));
  EXPECT_EQ(p.root, &d.tunnel_layer(0));
}

TEST(Decoder, PppWithCompressedProtocolAndReassemblyKeepsTheLinkLayer) {
  std::string payload = udp(5000, 53, std::string(8, 'A'));  // 16 bytes: 2 fragments of 8
  Decoder d({.check_checksums = false});
  Packet p;
  Anomaly a;
  auto frag = [&](int idx, bool more) {
    uint16_t field = static_cast<uint16_t>(idx) | (more ? 0x2000 : 0);
    std::string f(1, '\x21');
    f += ipv4(28, 9, field, 17);
    f += payload.substr(static_cast<std::size_t>(idx) * 8, 8);
    return f;
  };
  std::string f1 = frag(1, false), f0 = frag(0, true);
  RawPacket r1 = raw(f1), r0 = raw(f0);
  r1.link_type = r0.link_type = 9;  // PPP, protocol field compressed to one byte
  EXPECT_EQ(d.decode(r1, p, a), Decoder::Outcome::kFragment);
  ASSERT_EQ(d.decode(r0, p, a), Decoder::Outcome::kPacket);
  EXPECT_EQ(a, Anomaly::kNone);
  EXPECT_EQ(p.origin, PacketOrigin::kDefrag);
  EXPECT_EQ(p.payload, std::string(8, 'A'));
  // The packet is the first fragment's link layer, then the whole datagram.
  ASSERT_EQ(p.data.size(), 1u + 20 + 16);
  EXPECT_EQ(p.data[0], '\x21');
  EXPECT_EQ(uint8_t(p.data[1]), 0x45);
  EXPECT_EQ((uint8_t(p.data[3]) << 8) | uint8_t(p.data[4]), 36);  // total length fixed
  EXPECT_EQ(link_type_name(p.link_type), "PPP");
}

TEST(Decoder, SctpHasPorts) {
  std::string sctp(12 + 16, '\0');
  put16(sctp, 0, 7);
  put16(sctp, 2, 9);
  std::string frame =
      eth(0x0800) + ipv4(static_cast<uint16_t>(20 + sctp.size()), 1, 0, ip_proto::kSctp) + sctp;
  Decoder d({.check_checksums = false});
  Packet p;
  Anomaly a;
  d.decode(raw(frame), p, a);
  EXPECT_EQ(a, Anomaly::kNone);
  EXPECT_TRUE(p.is_sctp());
  EXPECT_EQ(p.src_port, 7);
  EXPECT_EQ(p.dst_port, 9);
}

TEST(Decoder, EndpointHashIsSymmetric) {
  std::string u = udp(1, 2, "x");
  std::string a = eth(0x0800) + ipv4(static_cast<uint16_t>(20 + u.size()), 1, 0, 17) + u;
  std::string b = a;
  // Swap the addresses.
  for (int i = 0; i < 4; ++i) std::swap(b[14 + 12 + i], b[14 + 16 + i]);
  EXPECT_EQ(endpoint_hash(raw(a)), endpoint_hash(raw(b)));
  EXPECT_NE(endpoint_hash(raw(a)), 0u);
  EXPECT_EQ(endpoint_hash(raw(eth(0x0806) + std::string(28, '\0'))), 0u);
}

}  // namespace
}  // namespace mimamori::net
