#pragma once
/// Detect: the interface between the sensor pipeline and whatever inspects traffic (the rule
/// engine, behaviour detectors, threat intelligence). The sensor's wiring lists its detectors
/// explicitly; nothing registers itself.
///
/// Threading: the pipeline runs one instance of each detector per worker thread, and calls an
/// instance from that worker only. Flows never move between workers, so per-flow state needs no
/// locks. Shared read-only data (compiled rules) may be shared between instances.
///
/// Order of calls for one packet: on_packet (every decoded packet, flow-less ones included);
/// then, for TCP, on_stream for each run of newly in-order reassembled bytes; then on_app for
/// each app-layer progress point the new data completed. on_flow_end when the flow is retired.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "mimamori/core/event.h"
#include "mimamori/net/flow.h"
#include "mimamori/net/packet.h"

namespace mimamori::net {

/// The named buffers (Suricata's "sticky buffers") a rule can match on.
enum class Buffer : uint8_t {
  kHttpUri = 0,    ///< http.uri: normalized (percent-decoded) request URI
  kHttpUriRaw,     ///< http.uri.raw: the URI as sent
  kHttpMethod,     ///< http.method
  kHttpHost,       ///< http.host: Host header value, lowercased, without port
  kHttpHostRaw,    ///< http.host.raw: Host header as sent
  kHttpUserAgent,  ///< http.user_agent
  kHttpHeader,     ///< http.header: request (or response) headers, "Name: value\r\n" each, without
                   ///< Cookie
  kHttpHeaderRaw,  ///< http.header.raw: headers exactly as sent
  kHttpHeaderNames,     ///< http.header_names: "\r\nName1\r\nName2\r\n\r\n"
  kHttpCookie,          ///< http.cookie: Cookie (request) / Set-Cookie (response) value
  kHttpRequestBody,     ///< http.request_body (dechunked)
  kHttpResponseBody,    ///< http.response_body (dechunked, decompressed)
  kHttpStatCode,        ///< http.stat_code
  kHttpStatMsg,         ///< http.stat_msg
  kHttpContentType,     ///< http.content_type
  kHttpContentLen,      ///< http.content_len
  kHttpReferer,         ///< http.referer
  kHttpRequestLine,     ///< http.request_line: "GET /x HTTP/1.1"
  kHttpResponseLine,    ///< http.response_line: "HTTP/1.1 200 OK"
  kHttpStart,           ///< http.start: request/response line + headers + "\r\n"
  kHttpLocation,        ///< http.location
  kHttpServer,          ///< http.server
  kHttpAccept,          ///< http.accept
  kHttpAcceptEnc,       ///< http.accept_enc
  kHttpAcceptLang,      ///< http.accept_lang
  kHttpConnection,      ///< http.connection
  kHttpProtocol,        ///< http.protocol: "HTTP/1.1"
  kFileData,            ///< file.data: HTTP response body (or request body to_server), decompressed
  kDnsQuery,            ///< dns.query: each query name (multi-buffer)
  kTlsSni,              ///< tls.sni
  kTlsCertSubject,      ///< tls.cert_subject: server certificate subject, "C=.., O=.., CN=.."
  kTlsCertIssuer,       ///< tls.cert_issuer
  kTlsCertSerial,       ///< tls.cert_serial: "0A:1B:.."
  kTlsCerts,            ///< tls.certs: each certificate of the chain, DER (multi-buffer)
  kTlsVersion,          ///< tls.version: "TLS 1.2", ...
  kJa3Hash,             ///< ja3.hash: MD5 hex of ja3.string
  kJa3String,           ///< ja3.string
  kJa3sHash,            ///< ja3s.hash
  kJa4Hash,             ///< ja4.hash
  kSshProto,            ///< ssh.proto: "2.0"
  kSshSoftware,         ///< ssh.software: "OpenSSH_8.4p1"
  kTlsCertFingerprint,  ///< tls.cert_fingerprint: SHA-1 "aa:bb:.."
  kJa3sString,          ///< ja3s.string
  kCount                ///< number of buffers (not a buffer)
};

/// The rule-language name of a buffer ("http.uri", ...).
std::string_view buffer_name(Buffer b);
/// The buffer with that rule-language name, or nullopt.
std::optional<Buffer> buffer_from_name(std::string_view name);
/// The application protocol a buffer belongs to (kUnknown for none).
AppProto buffer_app_proto(Buffer b);

/// App-layer progress points at which detectors are called.
enum class AppProgress : uint8_t {
  kHttpRequestHeaders = 0,  ///< request line and headers complete
  kHttpRequestBody,         ///< request body complete (or cut at the body limit)
  kHttpResponseHeaders,     ///< status line and headers complete
  kHttpResponseBody,        ///< response body complete (or cut at the body limit)
  kDnsQuery,                ///< a DNS query message
  kDnsAnswer,               ///< a DNS response message
  kTlsClientHello,
  kTlsServerHello,
  kTlsCertificate,  ///< the server's certificate chain was seen
  kSshBanner,       ///< a side's banner (see AppEvent::direction)
};

/// One app-layer progress point of one transaction.
struct AppEvent {
  AppProto proto = AppProto::kUnknown;
  AppProgress progress = AppProgress::kHttpRequestHeaders;
  Direction direction = Direction::kToServer;  ///< side whose data completed it
  uint64_t tx_id = 0;                          ///< 0-based transaction number within the flow
};

/// A run of newly reassembled, in-order TCP payload in one direction.
struct StreamChunk {
  Direction direction = Direction::kToServer;
  uint64_t offset = 0;  ///< offset of data[0] from the stream's start
  std::string_view data;
  bool after_gap = false;  ///< bytes before this chunk were lost
};

/// What a detector may see and do during one callback. Implemented by the pipeline.
class DetectContext {
 public:
  virtual ~DetectContext() = default;

  /// The packet being processed (for stream and app callbacks: the one that completed them).
  virtual const Packet& packet() const = 0;
  /// The packet's flow, or null.
  Flow* flow() const { return packet().flow; }
  /// True when the callback inspects reassembled stream data or app-layer buffers (the
  /// `flow:only_stream` case), false for a single packet (`flow:no_stream`).
  virtual bool stream_data() const = 0;

  /// Buffer `b` of the current transaction (value `index` of a multi-buffer); empty when the
  /// transaction has no such buffer (yet). Only on_app callbacks have buffers.
  virtual std::string_view buffer(Buffer b, std::size_t index = 0) const = 0;
  /// How many values buffer `b` holds now (0 when absent; >1 for multi-buffers).
  virtual std::size_t buffer_count(Buffer b) const = 0;
  /// True when buffer `b` exists for the current transaction (even if empty).
  bool has_buffer(Buffer b) const { return buffer_count(b) > 0; }

  /// Queues an `alert` event for the current packet (Suricata's PacketAlertAppend). Once the
  /// detectors return, the pipeline writes it with the header (addresses, ports, proto,
  /// flow_id, app_proto) and the flow's app-layer record (`http`, `dns`, `tls`, ...), as
  /// Suricata does; the detector never waits on output.
  virtual void alert(const core::Alert& alert) = 0;
  /// As alert(), with the packet's final verdict ("alert", "pass", "drop"), which the
  /// pipeline writes as EVE's `verdict` object when configured to, and `extra` members for the
  /// record's top level (e.g. `traffic`), when given.
  virtual void alert_verdict(const core::Alert& alert, std::string_view verdict,
                             const core::Fields* extra = nullptr) {
    (void)verdict;
    (void)extra;
    this->alert(alert);
  }
  /// In IPS mode, drops this packet and all later packets of its flow. No-op otherwise.
  virtual void drop() = 0;
  /// In IPS mode, drops this packet only. No-op otherwise.
  virtual void drop_packet() { drop(); }
  /// In IPS mode, drops as drop() (`whole_flow`) or drop_packet() do, and answers the packet
  /// as a rule's `reject`: a TCP reset both ways or an ICMP unreachable. No-op otherwise.
  virtual void reject(bool whole_flow) {
    if (whole_flow)
      drop();
    else
      drop_packet();
  }
  /// True when the sensor runs inline (or simulates it): drop verdicts take effect.
  virtual bool ips_mode() const = 0;
  /// Queues the current packet as a tagged one (a rule's `tag` option): an EVE `packet` record
  /// with the frame in base64, when `outputs.eve.alert.tagged-packets` is on.
  virtual void tagged_packet() {}
  /// Queues any other event (behaviour detectors), in order with the alerts; the pipeline
  /// stamps flow_id if unset.
  virtual void emit(core::Event& event) = 0;
};

/// Something that inspects traffic. See the file comment for threading and call order.
class Detector {
 public:
  virtual ~Detector() = default;

  /// A short name for logs and statistics ("rules", "portscan", ...).
  virtual std::string_view name() const = 0;

  /// Every decoded packet (with or without a flow).
  virtual void on_packet(const Packet& packet, DetectContext& ctx) = 0;
  /// Newly reassembled in-order TCP bytes of one direction.
  virtual void on_stream(const StreamChunk& chunk, DetectContext& ctx) {
    (void)chunk;
    (void)ctx;
  }
  /// An app-layer progress point; ctx.buffer() serves the transaction's buffers.
  virtual void on_app(const AppEvent& event, DetectContext& ctx) {
    (void)event;
    (void)ctx;
  }
  /// The flow is about to be retired (timeout, end of capture, eviction); its detector state
  /// is freed right after.
  virtual void on_flow_end(Flow& flow) { (void)flow; }

  /// The per-flow state slot this instance owns (see Flow::state), set by the pipeline.
  unsigned flow_slot() const { return flow_slot_; }
  void set_flow_slot(unsigned slot) { flow_slot_ = slot; }

 private:
  unsigned flow_slot_ = 0;
};

}  // namespace mimamori::net
