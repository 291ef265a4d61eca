#include "mimamori/core/ip_address.h"

#ifdef _WIN32
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#endif

#include <cstring>

namespace mimamori::core {

IpAddress IpAddress::v4(const uint8_t* b) {
  IpAddress a;
  std::memcpy(a.bytes_.data(), b, 4);
  a.family_ = Family::kV4;
  return a;
}

IpAddress IpAddress::v4(uint32_t host_order) {
  uint8_t b[4] = {static_cast<uint8_t>(host_order >> 24), static_cast<uint8_t>(host_order >> 16),
                  static_cast<uint8_t>(host_order >> 8), static_cast<uint8_t>(host_order)};
  return v4(b);
}

IpAddress IpAddress::v6(const uint8_t* b) {
  IpAddress a;
  std::memcpy(a.bytes_.data(), b, 16);
  a.family_ = Family::kV6;
  return a;
}

Result<IpAddress> IpAddress::parse(std::string_view text) {
  char buf[64];
  if (text.empty() || text.size() >= sizeof buf) {
    return make_error("'{}' is not an IP address", text);
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  uint8_t b[16];
  if (inet_pton(AF_INET, buf, b) == 1) return v4(b);
  if (inet_pton(AF_INET6, buf, b) == 1) return v6(b);
  return make_error("'{}' is not an IP address", text);
}

uint32_t IpAddress::v4_host_order() const {
  return (uint32_t{bytes_[0]} << 24) | (uint32_t{bytes_[1]} << 16) | (uint32_t{bytes_[2]} << 8) |
         bytes_[3];
}

void IpAddress::append_to(std::string& out) const {
  if (family_ == Family::kV4) {
    char buf[16];
    char* p = buf;
    for (int i = 0; i < 4; ++i) {
      unsigned v = bytes_[i];
      if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
      *p++ = static_cast<char>('0' + v % 10);
      if (i < 3) *p++ = '.';
    }
    out.append(buf, static_cast<size_t>(p - buf));
  } else if (family_ == Family::kV6) {
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf)) out.append(buf);
  }
}

std::string IpAddress::to_string() const {
  std::string s;
  append_to(s);
  return s;
}

}  // namespace mimamori::core
