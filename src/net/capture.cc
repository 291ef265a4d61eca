#include "mimamori/net/capture.h"

#include <pcap/pcap.h>

#include <utility>

namespace mimamori::net {

PcapFile::~PcapFile() {
  if (handle_) pcap_close(static_cast<pcap_t*>(handle_));
}
PcapFile::PcapFile(PcapFile&& o) noexcept
    : handle_(std::exchange(o.handle_, nullptr)), link_type_(o.link_type_), path_(o.path_) {}
PcapFile& PcapFile::operator=(PcapFile&& o) noexcept {
  std::swap(handle_, o.handle_);
  std::swap(link_type_, o.link_type_);
  std::swap(path_, o.path_);
  return *this;
}

core::Result<PcapFile> PcapFile::open(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO, err);
  if (!p) return core::make_error("cannot read capture '{}': {}", path, err);
  PcapFile f;
  f.handle_ = p;
  f.link_type_ = pcap_datalink(p);
  f.path_ = path;
  return f;
}

core::Result<bool> PcapFile::next(RawPacket& packet) {
  auto* p = static_cast<pcap_t*>(handle_);
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc = pcap_next_ex(p, &hdr, &data);
  if (rc == 1) {
    packet.timestamp.micros = static_cast<int64_t>(hdr->ts.tv_sec) * 1000000 + hdr->ts.tv_usec;
    packet.data = {reinterpret_cast<const char*>(data), hdr->caplen};
    packet.wire_length = hdr->len;
    packet.link_type = link_type_;
    return true;
  }
  if (rc == PCAP_ERROR_BREAK) return false;
  return core::make_error("capture '{}': {}", path_, pcap_geterr(p));
}

}  // namespace mimamori::net
