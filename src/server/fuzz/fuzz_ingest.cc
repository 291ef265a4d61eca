// libFuzzer target for the ingest path a device controls: Content-Encoding, sequence range and
// body go through decompression and the batch parser. Any crash, hang or sanitizer report is
// a bug; errors are fine. Build with the `fuzz` preset; bench/fuzz_ingest runs it for long.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mimamori/server/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  // Byte 0 picks the encoding, byte 1 the number of lines claimed (0..255), byte 2 the start.
  static constexpr std::string_view kEncodings[] = {"", "gzip", "zstd", "identity", "br"};
  std::string_view encoding = kEncodings[data[0] % 5];
  std::string_view body(reinterpret_cast<const char*>(data + 3), size - 3);
  auto decoded = mimamori::server::decompress_body(encoding, body, 1 << 20);
  if (!decoded.ok()) return 0;
  mimamori::server::IngestBatch batch;
  batch.first = 1 + data[2];
  batch.last = batch.first + data[1] - 1;
  batch.body = std::move(*decoded);
  auto st = mimamori::server::parse_ingest_batch(batch);
  if (st.ok()) {
    // Every line is accounted for, once.
    if (static_cast<int64_t>(batch.events.size() + batch.rejected.size()) !=
        batch.last - batch.first + 1) {
      __builtin_trap();
    }
    for (const auto& e : batch.events) {
      if (e.raw.empty() || e.seq < batch.first || e.seq > batch.last) __builtin_trap();
    }
  }
  return 0;
}
