#pragma once
// Big-endian loads and stores on unaligned bytes.

#include <cstdint>

namespace mimamori::net {

inline uint16_t load_be16(const char* p) {
  auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((b[0] << 8) | b[1]);
}
inline uint32_t load_be24(const char* p) {
  auto* b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t(b[0]) << 16) | (uint32_t(b[1]) << 8) | b[2];
}
inline uint32_t load_be32(const char* p) {
  auto* b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
}
inline void store_be16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v & 0xff);
}

}  // namespace mimamori::net
