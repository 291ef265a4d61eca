#pragma once
// Small helpers for writing records the way Suricata writes them.

#include <cstdint>
#include <string>
#include <string_view>

#include "mimamori/core/ip_address.h"

namespace mimamori::net {

/// Appends an address as Suricata writes it: dotted IPv4, IPv6 as eight 4-digit hex groups.
inline void append_suricata_ip(std::string& out, const core::IpAddress& a) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto& b = a.bytes();
  if (a.is_v4()) {
    a.append_to(out);
    return;
  }
  if (!a.is_v6()) return;
  for (int i = 0; i < 16; i += 2) {
    if (i) out.push_back(':');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 15]);
    out.push_back(kHex[b[i + 1] >> 4]);
    out.push_back(kHex[b[i + 1] & 15]);
  }
}

/// Appends `v` as lowercase hex without leading zeros ("8180", "100", "0").
inline void append_hex(std::string& out, uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[16];
  int n = 0;
  do {
    buf[n++] = kHex[v & 15];
    v >>= 4;
  } while (v);
  while (n) out.push_back(buf[--n]);
}

}  // namespace mimamori::net
