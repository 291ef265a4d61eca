// The packets of a reject, as Suricata's `reject`: a TCP reset to each side of a TCP packet,
// an ICMP (or ICMPv6) port unreachable to the sender of anything else. Built from the IP
// packet itself, so they need no flow state.

#include <cstring>

#include "mimamori/net/inline_queue.h"

namespace mimamori::net {
namespace {

uint16_t be16(const unsigned char* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const unsigned char* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
void put16(std::string& s, std::size_t at, uint16_t v) {
  s[at] = static_cast<char>(v >> 8);
  s[at + 1] = static_cast<char>(v);
}
void put32(std::string& s, std::size_t at, uint32_t v) {
  put16(s, at, static_cast<uint16_t>(v >> 16));
  put16(s, at + 2, static_cast<uint16_t>(v));
}

uint32_t sum16(const unsigned char* p, std::size_t n, uint32_t acc = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) acc += be16(p + i);
  if (n & 1) acc += uint32_t(p[n - 1]) << 8;
  return acc;
}
uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}
const unsigned char* u(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// An IP header (v4: 20 bytes, v6: 40) from `src` to `dst` (each 4 or 16 bytes) for `len`
// bytes of protocol `proto`.
std::string ip_header(bool v6, const unsigned char* src, const unsigned char* dst, uint8_t proto,
                      std::size_t len) {
  std::string h;
  if (!v6) {
    h.assign(20, '\0');
    h[0] = 0x45;
    put16(h, 2, static_cast<uint16_t>(20 + len));
    h[6] = 0x40;  // don't fragment
    h[8] = 64;
    h[9] = static_cast<char>(proto);
    std::memcpy(h.data() + 12, src, 4);
    std::memcpy(h.data() + 16, dst, 4);
    put16(h, 10, fold(sum16(u(h), 20)));
  } else {
    h.assign(40, '\0');
    h[0] = 0x60;
    put16(h, 4, static_cast<uint16_t>(len));
    h[6] = static_cast<char>(proto);
    h[7] = 64;
    std::memcpy(h.data() + 8, src, 16);
    std::memcpy(h.data() + 24, dst, 16);
  }
  return h;
}

// The transport checksum over the pseudo header of `ip` (just built) and `l4`.
uint16_t l4_checksum(bool v6, const std::string& ip, const std::string& l4, uint8_t proto) {
  uint32_t acc = 0;
  if (!v6) {
    acc = sum16(u(ip) + 12, 8);
  } else {
    acc = sum16(u(ip) + 8, 32);
    acc += static_cast<uint32_t>(l4.size() >> 16);
  }
  acc += proto;
  acc += static_cast<uint32_t>(l4.size() & 0xffff);
  return fold(sum16(u(l4), l4.size(), acc));
}

std::string tcp_reset(bool v6, const unsigned char* src, const unsigned char* dst, uint16_t sport,
                      uint16_t dport, uint32_t seq, uint32_t ack) {
  std::string t(20, '\0');
  put16(t, 0, sport);
  put16(t, 2, dport);
  put32(t, 4, seq);
  put32(t, 8, ack);
  t[12] = 0x50;
  t[13] = 0x14;  // RST, ACK
  std::string ip = ip_header(v6, src, dst, 6, t.size());
  put16(t, 16, l4_checksum(v6, ip, t, 6));
  return ip + t;
}

}  // namespace

std::vector<std::string> build_reject(std::string_view ip) {
  std::vector<std::string> out;
  const auto* p = reinterpret_cast<const unsigned char*>(ip.data());
  if (ip.empty()) return out;
  bool v6 = (p[0] >> 4) == 6;
  std::size_t hl = 0, total = 0;
  uint8_t proto = 0;
  const unsigned char *src = nullptr, *dst = nullptr;
  if ((p[0] >> 4) == 4) {
    if (ip.size() < 20) return out;
    hl = (p[0] & 0x0f) * 4u;
    total = be16(p + 2);
    if (hl < 20 || total < hl || total > ip.size()) return out;
    if ((be16(p + 6) & 0x3fff) != 0) return out;  // a fragment
    proto = p[9];
    src = p + 12;
    dst = p + 16;
  } else if (v6) {
    if (ip.size() < 40) return out;
    hl = 40;
    total = 40 + be16(p + 4);
    if (total > ip.size()) return out;
    proto = p[6];  // extension headers are not followed: such packets are only dropped
    src = p + 8;
    dst = p + 24;
  } else {
    return out;
  }
  const unsigned char* l4 = p + hl;
  std::size_t l4len = total - hl;
  if (proto == 6) {
    if (l4len < 20) return out;
    std::size_t doff = (l4[12] >> 4) * 4u;
    uint8_t flags = l4[13];
    if (doff < 20 || doff > l4len || (flags & 0x04)) return out;  // never answer a reset
    uint16_t sport = be16(l4), dport = be16(l4 + 2);
    uint32_t seq = be32(l4 + 4), ack = be32(l4 + 8);
    uint32_t seglen =
        static_cast<uint32_t>(l4len - doff) + ((flags & 0x02) ? 1 : 0) + ((flags & 0x01) ? 1 : 0);
    // To the sender: from the receiver, at the sequence number it expects next.
    out.push_back(tcp_reset(v6, dst, src, dport, sport, (flags & 0x10) ? ack : 0, seq + seglen));
    // To the receiver: from the sender, where its dropped segment would have started.
    out.push_back(tcp_reset(v6, src, dst, sport, dport, seq, ack));
    return out;
  }
  if (proto == (v6 ? 58 : 1)) {
    // ICMP errors are never answered; only echo and the like.
    if (l4len < 1) return out;
    uint8_t type = l4[0];
    if (v6 ? type < 128 : (type == 3 || type == 4 || type == 5 || type == 11 || type == 12))
      return out;
  }
  // ICMP port unreachable to the sender, quoting as much of the packet as a minimal-MTU
  // datagram carries.
  std::size_t room = v6 ? 1280 - 48 : 576 - 28;
  std::string icmp(8, '\0');
  icmp[0] = static_cast<char>(v6 ? 1 : 3);
  icmp[1] = static_cast<char>(v6 ? 4 : 3);
  icmp.append(ip.substr(0, std::min(total, room)));
  std::string iph = ip_header(v6, dst, src, v6 ? 58 : 1, icmp.size());
  put16(icmp, 2, v6 ? l4_checksum(true, iph, icmp, 58) : fold(sum16(u(icmp), icmp.size())));
  out.push_back(iph + icmp);
  return out;
}

}  // namespace mimamori::net
