#include "mimamori/net/capture.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "mimamori/core/log.h"

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

PacketSource::~PacketSource() {
  if (live_) pcap_close(static_cast<pcap_t*>(live_));
}

core::Result<std::unique_ptr<PacketSource>> PacketSource::open_read(const std::string& path) {
  std::unique_ptr<PacketSource> s(new PacketSource());
  std::error_code ec;
  if (path != "-" && std::filesystem::is_directory(path, ec)) {
    for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
      if (!e.is_regular_file()) continue;
      auto ext = e.path().extension().string();
      if (ext == ".pcap" || ext == ".pcapng" || ext == ".cap" || ext.rfind(".pcap", 0) == 0)
        s->inputs_.push_back(e.path().string());
    }
    std::sort(s->inputs_.begin(), s->inputs_.end());
    if (s->inputs_.empty()) return core::make_error("no pcap files in directory '{}'", path);
  } else {
    if (path != "-" && !std::filesystem::exists(path, ec))
      return core::make_error("cannot read capture '{}': no such file", path);
    s->inputs_.push_back(path);
  }
  // Open the first file now, so that a bad single file is an error at start-up.
  if (s->inputs_.size() == 1) {
    auto f = PcapFile::open(s->inputs_[0]);
    if (!f) return std::move(f).error();
    s->file_ = std::make_unique<PcapFile>(std::move(*f));
    s->index_ = 1;
  }
  return s;
}

core::Result<std::unique_ptr<PacketSource>> PacketSource::open_live(const std::string& iface,
                                                                    const LiveOptions& o) {
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_create(iface.c_str(), err);
  if (!p) return core::make_error("cannot capture on '{}': {}", iface, err);
  pcap_set_snaplen(p, o.snaplen);
  pcap_set_promisc(p, o.promiscuous ? 1 : 0);
  pcap_set_immediate_mode(p, 1);
  pcap_set_timeout(p, 100);
  pcap_set_buffer_size(p, o.buffer_mb << 20);
  int rc = pcap_activate(p);
  if (rc < 0) {
    std::string why = pcap_geterr(p);
    pcap_close(p);
    return core::make_error("cannot capture on '{}': {}", iface, why);
  }
  if (!o.bpf.empty()) {
    bpf_program prog{};
    if (pcap_compile(p, &prog, o.bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0 ||
        pcap_setfilter(p, &prog) != 0) {
      std::string why = pcap_geterr(p);
      pcap_freecode(&prog);
      pcap_close(p);
      return core::make_error("BPF filter '{}' on '{}': {}", o.bpf, iface, why);
    }
    pcap_freecode(&prog);
  }
  std::unique_ptr<PacketSource> s(new PacketSource());
  s->live_ = p;
  s->live_link_ = pcap_datalink(p);
  s->inputs_.push_back(iface);
  return s;
}

void PacketSource::interrupt() {
  // In immediate mode on Linux, pcap_next_ex waits in poll() past its timeout until a packet
  // comes; pcap_breakloop wakes it (through an eventfd) so a quiet link still stops at once.
  if (live_) pcap_breakloop(static_cast<pcap_t*>(live_));
}

core::Result<bool> PacketSource::next(RawPacket& packet, const std::atomic<bool>& stop) {
  if (live_) {
    auto* p = static_cast<pcap_t*>(live_);
    while (!stop.load(std::memory_order_relaxed)) {
      pcap_pkthdr* hdr = nullptr;
      const u_char* data = nullptr;
      int rc = pcap_next_ex(p, &hdr, &data);
      if (rc == 1) {
        packet.timestamp.micros = static_cast<int64_t>(hdr->ts.tv_sec) * 1000000 + hdr->ts.tv_usec;
        packet.data = {reinterpret_cast<const char*>(data), hdr->caplen};
        packet.wire_length = hdr->len;
        packet.link_type = live_link_;
        ++stats_.packets;
        return true;
      }
      if (rc == 0) continue;  // timeout: check the stop flag
      if (rc == PCAP_ERROR_BREAK) return false;
      return core::make_error("capture on '{}': {}", inputs_[0], pcap_geterr(p));
    }
    return false;
  }
  while (!stop.load(std::memory_order_relaxed)) {
    if (!file_) {
      if (index_ >= inputs_.size()) return false;
      const std::string& path = inputs_[index_++];
      auto f = PcapFile::open(path);
      if (!f) {
        ++stats_.read_errors;
        spdlog::error("{} (skipped)", f.error().message);
        continue;
      }
      file_ = std::make_unique<PcapFile>(std::move(*f));
    }
    auto more = file_->next(packet);
    if (!more) {
      ++stats_.read_errors;
      spdlog::error("{} (after packet {}; rest of the file skipped)", more.error().message,
                    stats_.packets);
      file_.reset();
      continue;
    }
    if (!*more) {
      file_.reset();
      continue;
    }
    ++stats_.packets;
    return true;
  }
  return false;
}

const CaptureStats& PacketSource::stats() {
  if (live_) {
    pcap_stat st{};
    if (pcap_stats(static_cast<pcap_t*>(live_), &st) == 0) stats_.kernel_drops = st.ps_drop;
  }
  return stats_;
}

}  // namespace mimamori::net
