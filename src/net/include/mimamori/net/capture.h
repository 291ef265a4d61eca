#pragma once
/// Capture: packets from pcap/pcapng files (a file, a directory of them in name order, or `-`
/// for standard input) or from a live interface, all through libpcap.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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

  /// True with a packet, false at the end. A damaged record ends the file with an error.
  core::Result<bool> next(RawPacket& packet);

  int link_type() const { return link_type_; }
  const std::string& path() const { return path_; }

 private:
  PcapFile() = default;
  void* handle_ = nullptr;  // pcap_t*
  int link_type_ = 0;
  std::string path_;
};

/// Options of a live capture.
struct LiveOptions {
  int snaplen = 65535;
  bool promiscuous = true;
  std::string bpf;     ///< BPF filter expression; empty: everything
  int buffer_mb = 32;  ///< kernel buffer
};

/// Counters of a capture source.
struct CaptureStats {
  uint64_t packets = 0;
  uint64_t kernel_drops = 0;  ///< live only: dropped by the kernel
  uint64_t read_errors = 0;   ///< damaged files skipped
};

/// Where packets come from: files in order, or an interface. Stops early when `stop` is set.
class PacketSource {
 public:
  ~PacketSource();

  /// `-r` argument: a file, a directory (its pcap/pcapng files in name order) or `-`.
  static core::Result<std::unique_ptr<PacketSource>> open_read(const std::string& path);
  /// `-i` argument: a live interface in immediate mode.
  static core::Result<std::unique_ptr<PacketSource>> open_live(const std::string& iface,
                                                               const LiveOptions& options);

  /// True with a packet; false at the end (or when stopped). Errors in one file are logged and
  /// that file is skipped; only a failing live capture returns an error.
  core::Result<bool> next(RawPacket& packet, const std::atomic<bool>& stop);
  /// Wakes a live capture blocked waiting for packets, so next() returns false; safe to call
  /// from a signal handler (pcap_breakloop). No effect on files.
  void interrupt();

  /// Refreshes and returns the counters.
  const CaptureStats& stats();
  /// Files (or the interface) this source reads.
  const std::vector<std::string>& inputs() const { return inputs_; }

 private:
  PacketSource() = default;
  std::vector<std::string> inputs_;
  std::size_t index_ = 0;
  std::unique_ptr<PcapFile> file_;
  void* live_ = nullptr;  // pcap_t*
  int live_link_ = 0;
  CaptureStats stats_;
};

}  // namespace mimamori::net
