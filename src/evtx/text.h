#pragma once
// Byte and text helpers shared by the EVTX reader and its renderers (private to evtx).

#include <cstdint>
#include <cstring>
#include <string>

namespace mimamori::evtx {

template <class T>
inline T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // the reader runs on little-endian hosts only
  return v;
}

/// Appends `n` UTF-16LE code units as UTF-8; unpaired surrogates become U+FFFD.
inline void append_utf16(std::string& out, const uint8_t* p, std::size_t n) {
  // Writes into room made up front (3 bytes per unit at most), then trims: no per-byte growth.
  std::size_t start = out.size();
  out.resize(start + 3 * n);
  char* w = out.data() + start;
  for (std::size_t i = 0; i < n; ++i) {
    uint32_t c = p[2 * i] | (uint32_t(p[2 * i + 1]) << 8);
    if (c < 0x80) {
      *w++ = static_cast<char>(c);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      uint32_t d = p[2 * i + 2] | (uint32_t(p[2 * i + 3]) << 8);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        ++i;
      } else {
        c = 0xfffd;
      }
    } else if (c >= 0xd800 && c <= 0xdfff) {
      c = 0xfffd;
    }
    if (c < 0x800) {
      *w++ = static_cast<char>(0xc0 | (c >> 6));
      *w++ = static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      *w++ = static_cast<char>(0xe0 | (c >> 12));
      *w++ = static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      *w++ = static_cast<char>(0x80 | (c & 0x3f));
    } else {  // a surrogate pair: two units in, four bytes out, within the room made
      *w++ = static_cast<char>(0xf0 | (c >> 18));
      *w++ = static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      *w++ = static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      *w++ = static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  out.resize(static_cast<std::size_t>(w - out.data()));
}

/// FILETIME (100 ns since 1601-01-01) to microseconds since 1970-01-01.
inline int64_t filetime_to_micros(uint64_t ft) {
  return static_cast<int64_t>(ft / 10) - 11644473600LL * 1000000LL;
}

}  // namespace mimamori::evtx
