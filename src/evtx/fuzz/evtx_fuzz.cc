// libFuzzer target for the EVTX reader: the input is one chunk (padded to 64 KiB) and, as a
// second view, a bare binary XML fragment. Every decoded record is rendered every way.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "mimamori/evtx/evtx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mimamori::evtx;
  static EvtxChunkDecoder decoder;
  std::vector<uint8_t> chunk(EvtxFile::kChunkSize, 0);
  std::memcpy(chunk.data(), data, std::min<size_t>(size, chunk.size()));
  std::string out;
  EvtxStats stats;
  auto on_record = [&](const EvtxRecord& r) {
    out.clear();
    r.append_json(out);
    r.append_xml(out);
    for (const auto& f : r.fields()) out.append(f.value);
  };
  decoder.decode_chunk(
      "fuzz", chunk.data(), 0, on_record, [](const EvtxProblem&) {}, stats);
  EvtxRecord record;
  if (decoder.decode_fragment(std::string_view(reinterpret_cast<const char*>(data), size), record)
          .ok()) {
    on_record(record);
  }
  return 0;
}
