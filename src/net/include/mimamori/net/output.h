#pragma once
/// EVE output: where the sensor's JSON lines go — a file (rotated by size), standard output,
/// or a Unix socket. Writers take whole lines only, under a lock, so records from several
/// workers never interleave.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mimamori/core/result.h"

namespace mimamori::net {

/// A destination for EVE lines. Thread-safe.
class EveSink {
 public:
  virtual ~EveSink() = default;
  /// Writes `lines` (one or more complete lines, each ending in '\n').
  virtual void write(std::string_view lines) = 0;
  /// Pushes buffered bytes to the destination.
  virtual void flush() = 0;
};

/// Appends to `path`; when it would pass `rotate_bytes` (0: never), renames it to `path.1`
/// (older ones to `.2` ... up to `keep`) and starts a new file.
core::Result<std::unique_ptr<EveSink>> open_file_sink(const std::string& path,
                                                      uint64_t rotate_bytes = 0, int keep = 5);
/// Writes to standard output.
std::unique_ptr<EveSink> make_stdout_sink();
/// Connects to a listening Unix stream socket at `path` (as Suricata's unix_stream output).
core::Result<std::unique_ptr<EveSink>> open_unix_sink(const std::string& path);

}  // namespace mimamori::net
