// libFuzzer target: the decoder (all link types, IPv4/IPv6 defragmentation) on arbitrary
// frames. Input: one link-type byte, then frames as [2-byte length][bytes]..., so fragments of
// one datagram can meet in one input.

#include <cstddef>
#include <cstdint>

#include "mimamori/net/decode.h"

using namespace mimamori::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr int kLinks[] = {1, 12, 101, 113, 276, 0, 108, 9, 104, 228, 229};
  if (size < 1) return 0;
  int link = kLinks[data[0] % (sizeof(kLinks) / sizeof(kLinks[0]))];
  Decoder d;
  Packet p;
  Anomaly a;
  size_t pos = 1;
  int64_t t = 1;
  while (pos + 2 <= size) {
    size_t len = (size_t(data[pos]) << 8) | data[pos + 1];
    pos += 2;
    if (len > size - pos) len = size - pos;
    RawPacket raw;
    raw.timestamp.micros = t++ * 1000;
    raw.data = {reinterpret_cast<const char*>(data + pos), len};
    raw.wire_length = static_cast<uint32_t>(len);
    raw.link_type = link;
    d.decode(raw, p, a);
    (void)anomaly_name(a);
    (void)endpoint_hash(raw);
    pos += len;
  }
  return 0;
}
