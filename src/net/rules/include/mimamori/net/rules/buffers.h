#pragma once
/// Inspection buffers of the rule language: the packet/stream payload and the named sticky
/// buffers (`http.uri`, `dns.query`, `tls.sni`, ...) that app-layer parsers fill per transaction.

#include <cstdint>
#include <optional>
#include <string_view>

namespace mimamori::net::rules {

/// One buffer a rule can inspect. kPayload is the packet payload (or the reassembled stream
/// chunk, for stream rules); every other id is a sticky buffer filled by an app-layer parser.
enum class BufferId : uint8_t {
  kPayload,
  kHttpUri,
  kHttpUriRaw,
  kHttpMethod,
  kHttpHost,
  kHttpHostRaw,
  kHttpUserAgent,
  kHttpHeader,
  kHttpHeaderRaw,
  kHttpHeaderNames,
  kHttpCookie,
  kHttpRequestBody,
  kHttpResponseBody,
  kHttpStatCode,
  kHttpStatMsg,
  kHttpContentType,
  kHttpContentLen,
  kHttpReferer,
  kHttpRequestLine,
  kHttpResponseLine,
  kHttpStart,
  kHttpLocation,
  kHttpServer,
  kHttpAccept,
  kHttpAcceptEnc,
  kHttpAcceptLang,
  kHttpConnection,
  kHttpProtocol,
  kFileData,
  kDnsQuery,
  kTlsSni,
  kTlsCertSubject,
  kTlsCertIssuer,
  kTlsCertSerial,
  kTlsCertFingerprint,
  kTlsCerts,
  kJa3Hash,
  kJa3String,
  kJa3sHash,
  kJa3sString,
  kJa4Hash,
  kSshProto,
  kSshSoftware,
  kCount
};

/// Number of buffer ids.
inline constexpr std::size_t kBufferCount = static_cast<std::size_t>(BufferId::kCount);

/// Which side of a flow fills a buffer: a request buffer is seen to_server, a response buffer
/// to_client, kEither on both (payload, file.data, header names ...).
enum class BufferSide : uint8_t { kEither, kToServer, kToClient };

/// The rule-language name of a buffer (`http.uri`, `pkt_data` for kPayload).
std::string_view buffer_name(BufferId id);

/// The side a buffer belongs to.
BufferSide buffer_side(BufferId id);

/// Whether a buffer carries several values per transaction (tls.certs: one per certificate).
bool buffer_is_multi(BufferId id);

/// The app-layer protocol a buffer implies (for rules whose header says `tcp`), as the name
/// used in rule headers (`http`, `dns`, `tls`, `ssh`), or empty for kPayload.
std::string_view buffer_protocol(BufferId id);

/// The buffer a sticky-buffer keyword selects (`http.uri`, `http_uri` as sticky in old
/// syntax is not accepted: see legacy_modifier_buffer), or nullopt. Both names come from the
/// rule keyword table.
std::optional<BufferId> sticky_buffer(std::string_view keyword);

/// The buffer a legacy content modifier (`http_uri`, `http_header`, ...) moves the previous
/// content into, or nullopt.
std::optional<BufferId> legacy_modifier_buffer(std::string_view keyword);

}  // namespace mimamori::net::rules
