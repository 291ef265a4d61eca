// libFuzzer target: the whole pipeline (capture reader, decode, flows, reassembly, protocol
// detection, parsers, EVE records) on an arbitrary pcap file image.

#include <pcap/pcap.h>

#include <cstdio>

#include "mimamori/net/pipeline.h"

using namespace mimamori::net;

namespace {
class DropSink : public EveSink {
 public:
  void write(std::string_view lines) override { n_ += lines.size(); }
  void flush() override {}
  std::size_t n_ = 0;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FILE* f = fmemopen(const_cast<uint8_t*>(data), size, "rb");
  if (!f) return 0;
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_fopen_offline(f, err);  // closes f with p
  if (!p) {
    fclose(f);
    return 0;
  }
  DropSink sink;
  PipelineOptions opt;
  opt.checksums = ChecksumMode::kNone;
  opt.midstream = true;
  Pipeline pipe(opt, {}, &sink);
  pcap_pkthdr* h;
  const u_char* d;
  uint64_t n = 0;
  while (pcap_next_ex(p, &h, &d) == 1 && n < 5000) {
    RawPacket raw;
    raw.timestamp.micros = int64_t(h->ts.tv_sec) * 1000000 + h->ts.tv_usec;
    raw.data = {reinterpret_cast<const char*>(d), h->caplen};
    raw.wire_length = h->len;
    raw.link_type = pcap_datalink(p);
    pipe.process(raw, ++n);
  }
  pipe.finish();
  pcap_close(p);
  return 0;
}
