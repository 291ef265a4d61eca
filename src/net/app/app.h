#pragma once
// App-layer parsers: one object per flow once its protocol is known. A parser is fed in-order
// bytes per direction (TCP) or whole datagrams (UDP), reports progress points and records to
// its sink, and serves the named buffers of its current transaction.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "mimamori/core/fields.h"
#include "mimamori/core/ip_address.h"
#include "mimamori/net/detect.h"

namespace mimamori::net {

/// A per-thread Fields to build records in, so parsers need not keep one per flow.
inline core::Fields& scratch_fields() {
  thread_local core::Fields fields;
  return fields;
}

/// Limits shared by the parsers.
struct AppLimits {
  uint32_t request_body_limit = 100 * 1024;   ///< bytes of request body kept for inspection
  uint32_t response_body_limit = 100 * 1024;  ///< bytes of (decompressed) response body kept
  uint32_t decompress_limit = 1 << 20;        ///< bytes a compressed body may inflate to
  uint32_t decompress_layers = 2;             ///< content codings undone per body (0: no limit)
  uint32_t header_limit = 64 * 1024;          ///< bytes of request/response head buffered
  uint32_t max_transactions = 512;            ///< pending HTTP transactions per flow
  bool http_extended = true;  ///< http records carry method, protocol, status, length, ...
};

/// Where a parser reports.
class AppSink {
 public:
  virtual ~AppSink() = default;
  /// A progress point: the pipeline calls the detectors (the parser's current transaction is
  /// the one `event.tx_id` names until the call returns).
  virtual void progress(const AppEvent& event) = 0;
  /// A protocol record is ready: `fields` holds e.g. `"dns": {...}`; `dir` says who sent the
  /// message that completed it (it decides src/dest of the record).
  virtual void record(std::string_view event_type, const core::Fields& fields, Direction dir) = 0;
  /// An app-layer anomaly (Suricata's event name, e.g. "REQUEST_LINE_MISSING_PROTOCOL").
  virtual void anomaly(std::string_view event) = 0;
  /// The connection now carries another protocol (an HTTP CONNECT tunnel was established):
  /// the parser takes no more data, and the protocol of what follows is detected afresh.
  virtual void switch_protocol() {}
};

class AppParser {
 public:
  virtual ~AppParser() = default;
  virtual AppProto proto() const = 0;
  /// Bytes of one direction, in order. `sink` stays valid only for the call.
  virtual void parse(Direction dir, std::string_view data, AppSink& sink) = 0;
  /// `lost` bytes of `dir` were lost before the next parse() call.
  virtual void gap(Direction dir, uint32_t lost) {
    (void)dir;
    (void)lost;
  }
  /// The flow ends: log what is pending.
  virtual void close(AppSink& sink) { (void)sink; }
  /// The current transaction's buffer (see DetectContext::buffer).
  virtual std::string_view buffer(Buffer b, std::size_t index) const {
    (void)b;
    (void)index;
    return {};
  }
  virtual std::size_t buffer_count(Buffer b) const {
    (void)b;
    return 0;
  }
  /// Appends the current (or last) transaction's record (`"http": {...}`) for an alert.
  virtual void append_record(core::Fields& out) const { (void)out; }
  /// The value of request header `name` (any case) of the current (or last) transaction;
  /// empty when absent or the protocol has no such headers.
  virtual std::string_view request_header(std::string_view name) const {
    (void)name;
    return {};
  }
  /// Clears the parser for reuse on another flow.
  virtual void reset() = 0;
};

/// Probes the first bytes of a direction; kUnknown when more data might still tell.
AppProto detect_tcp_proto(Direction dir, std::string_view data, bool& give_up);
/// True when a UDP payload is a well-formed DNS message.
bool looks_like_dns(std::string_view data);

/// The client address in an X-Forwarded-For style header value, as Suricata reads it: the
/// first entry of the list (`reverse` false: a forward proxy) or the last (reverse proxy),
/// without an IPv4 port or IPv6 brackets. Sets `text` to the address as written; nullopt
/// when that entry is not an IP address.
std::optional<core::IpAddress> xff_address(std::string_view value, bool reverse,
                                           std::string_view& text);

std::unique_ptr<AppParser> make_http_parser(const AppLimits& limits);
std::unique_ptr<AppParser> make_dns_parser(bool tcp);
std::unique_ptr<AppParser> make_tls_parser();
std::unique_ptr<AppParser> make_ssh_parser();

}  // namespace mimamori::net
