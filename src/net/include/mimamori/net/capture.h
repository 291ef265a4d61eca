#pragma once
/// Capture: packets from pcap/pcapng files (or stdin) through libpcap.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mimamori/core/clock.h"
#include "mimamori/core/result.h"

namespace mimamori::net {

/// One captured packet; `data` is valid until the next call to next().
struct RawPacket {
  core::Timestamp timestamp;
  std::string_view data;
  uint32_t wire_length = 0;  ///< length on the wire (data may be cut at the snaplen)
  int link_type = 0;         ///< DLT_* of the capture
};

/// A pcap or pcapng file read packet by packet. `-` reads from standard input.
class PcapFile {
 public:
  ~PcapFile();
  PcapFile(PcapFile&&) noexcept;
  PcapFile& operator=(PcapFile&&) noexcept;

  /// Opens `path`; the error names the file and libpcap's reason.
  static core::Result<PcapFile> open(const std::string& path);

  /// The next packet, or nullopt at the end. A damaged record ends the file with an error.
  core::Result<bool> next(RawPacket& packet);

  int link_type() const { return link_type_; }
  const std::string& path() const { return path_; }

 private:
  PcapFile() = default;
  void* handle_ = nullptr;  // pcap_t*
  int link_type_ = 0;
  std::string path_;
};

}  // namespace mimamori::net
